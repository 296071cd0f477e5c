package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

/**
 * Generated conformance cases for every stack-touching instruction over the whole matrix of code
 * segment size × operand-size prefix × address-size prefix × stack size (SS.B) — with a 16-bit
 * stack also at SP=0, where pushes wrap to 0xFFFx — each checked against {@link StackModel},
 * a reference model written from the Intel SDM vol. 2 "Operation" sections (PUSH, POP, PUSHA/PUSHAD,
 * POPA/POPAD, PUSHF/PUSHFD, POPF/POPFD, ENTER, LEAVE, CALL, RET, IRET/IRETD, INT n) and vol. 3
 * §3.4.5.1 (the B flag of SS sets the stack-address size) and §6.12.1 (interrupt gates' size).
 * ESP's and EBP's upper halves hold garbage on 16-bit stacks so that a truncated or widened stack
 * pointer shows. Compared: all general registers, EIP, EFLAGS, selectors and the bytes of every
 * stack window and the memory operand. The host-CPU oracle cannot run these (16-bit stacks, far
 * transfers, gates and ring 0), hence the model.
 */
class StackSizeMatrixTest extends CpuTestSupport {

    private static final int CODE = 0x1000, TARGET = 0x1800, MEMOP = 0x3000, IDT = 0x5000, VEC = 0x40;
    private static final int CS16 = 0x08, CS32 = 0x10, DATA32 = 0x18, DATA16 = 0x20;
    private static final int FLAGS0 = 0x893;
    private static final int POPPED_FLAGS = 0x00240cd5;
    /** Every window a case may touch: both wrap ends of a 16-bit stack, the stacks, the memory operand. */
    private static final int[][] WINDOWS = {{0, 0x100}, {0xff00, 0x10000}, {0x1f00, 0x2100}, {0x11f00, 0x12100},
        {MEMOP, MEMOP + 0x10}, {0xa50000, 0xa50100}, {0xa51f00, 0xa52100}};

    /** One combination: code size, effective operand and address size, stack size, initial ESP. */
    record Ctx(boolean code32, boolean p66, boolean p67, boolean stack32, int esp) {
        boolean o() {
            return code32 ^ p66;
        }

        boolean a() {
            return code32 ^ p67;
        }

        int size() {
            return o() ? 4 : 2;
        }

        int sp() {
            return stack32 ? esp : esp & 0xffff;
        }
    }

    interface Setup {
        void apply(Ctx c);
    }

    interface Model {
        void run(Ctx c, StackModel m, int next);
    }

    interface Encoding {
        byte[] bytes(Ctx c, int next);
    }

    /** A case: encoding (without prefixes), what memory/stack it needs, what the SDM says it does. */
    record Insn(String name, boolean a32Only, Encoding enc, Setup setup, Model model) {
    }

    private final List<String> failures = new ArrayList<>();
    private int cases;

    @Test
    void everyStackInstructionInEverySizeCombination() {
        desc(1, 0, 0xffff, 0x9a, 0x0);  // 0x08 16-bit code
        desc(2, 0, 0xfffff, 0x9a, 0xc); // 0x10 32-bit code
        desc(3, 0, 0xfffff, 0x92, 0xc); // 0x18 data, B=1: 32-bit stack
        desc(4, 0, 0xfffff, 0x92, 0x8); // 0x20 data, B=0: 16-bit stack (4 GiB limit, so only SP decides)
        List<Insn> insns = instructions();
        for (Insn insn : insns) {
            for (int v = 0; v < 8; v++) {
                for (int esp : new int[] {0x00012000, 0x00a52000, 0x00a50000, 0x00a5fffc}) {
                    boolean stack32 = esp == 0x00012000;
                    Ctx c = new Ctx((v & 1) != 0, (v & 2) != 0, (v & 4) != 0, stack32, esp);
                    if (insn.a32Only() && !c.a()) {
                        continue;
                    }
                    runCase(insn, c);
                }
            }
        }
        System.out.printf(Locale.ROOT, "stack matrix: %d instructions, %d cases, %d mismatches%n", insns.size(), cases,
                failures.size());
        assertTrue(cases > 1000, "the matrix ran");
        assertTrue(failures.isEmpty(), () -> failures.size() + " mismatches with the SDM model, first ones:\n"
                + String.join("\n", failures.subList(0, Math.min(40, failures.size()))));
    }

    private void runCase(Insn insn, Ctx c) {
        cases++;
        for (int[] w : WINDOWS) {
            for (int a = w[0]; a < w[1]; a++) {
                mem.write8(a, (a * 7 + 3) & 0xff);
            }
        }
        byte[] prefix = new byte[(c.p66() ? 1 : 0) + (c.p67() ? 1 : 0)];
        int k = 0;
        if (c.p66()) {
            prefix[k++] = 0x66;
        }
        if (c.p67()) {
            prefix[k] = 0x67;
        }
        int len = prefix.length + insn.enc().bytes(c, 0).length;
        byte[] body = insn.enc().bytes(c, CODE + len);
        load(CODE, prefix);
        load(CODE + prefix.length, body);
        mem.write8(CODE + len, 0xf4);
        mem.write8(TARGET, 0xf4);
        insn.setup().apply(c);
        int[][] before = new int[WINDOWS.length][];
        for (int i = 0; i < WINDOWS.length; i++) {
            before[i] = new int[WINDOWS[i][1] - WINDOWS[i][0]];
            for (int a = WINDOWS[i][0]; a < WINDOWS[i][1]; a++) {
                before[i][a - WINDOWS[i][0]] = mem.read8(a);
            }
        }

        cpu.enterFlatProtectedMode32(0);
        cpu.setGdtr(GDT, 0x7f);
        cpu.setIdtr(IDT, 0x7ff);
        cpu.loadSegment(Cpu.CS, c.code32() ? CS32 : CS16);
        cpu.loadSegment(Cpu.SS, c.stack32() ? DATA32 : DATA16);
        for (int s : new int[] {Cpu.DS, Cpu.ES, Cpu.FS, Cpu.GS}) {
            cpu.loadSegment(s, DATA32);
        }
        int upper = c.esp() & 0xffff0000;
        int[] regs = {c.o() ? TARGET : 0x66660000 | TARGET, 0x8a5c3e71, 0x2468ace0, 0x13579bdf, c.esp(),
            upper | ((c.sp() + 0x40) & 0xffff), 0x0badf00d, 0x7e57c0de};
        for (int r = 0; r < 8; r++) {
            cpu.setReg32(r, regs[r]);
        }
        cpu.setEflags(FLAGS0);
        cpu.setEip(CODE);

        StackModel m = new StackModel(mem);
        System.arraycopy(regs, 0, m.r, 0, 8);
        m.sel[Cpu.CS] = c.code32() ? CS32 : CS16;
        m.sel[Cpu.SS] = c.stack32() ? DATA32 : DATA16;
        m.sel[Cpu.DS] = m.sel[Cpu.ES] = m.sel[Cpu.FS] = m.sel[Cpu.GS] = DATA32;
        m.flags = FLAGS0;
        m.o = c.o();
        m.a = c.a();
        m.stack32 = c.stack32();
        m.eip = CODE + len;
        insn.model().run(c, m, CODE + len);
        int expectEip = m.eip + 1; // then the HLT there

        String what = insn.name() + " " + c;
        int r;
        if (insn.name().startsWith("int")) {
            cpu.runSlice(10);
            r = cpu.isHalted() ? -1 : -3;
        } else {
            r = cpu.runTest(10);
        }
        if (r != -1) {
            failures.add(what + ": stopped with " + r + " error " + cpu.lastErrorCode() + " at " + hex(cpu.getEip()));
            return;
        }
        StringBuilder diff = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            check(diff, "r" + i, m.r[i], reg(i));
        }
        check(diff, "eip", expectEip, cpu.getEip());
        check(diff, "eflags", m.flags, cpu.getEflags());
        for (int s = 0; s < 6; s++) {
            check(diff, "sel" + s, m.sel[s], cpu.getSegSelector(s));
        }
        for (int i = 0; i < WINDOWS.length; i++) {
            int[] w = WINDOWS[i];
            for (int a = w[0]; a < w[1]; a++) {
                Integer want = m.writes.get(a);
                int got = mem.read8(a);
                int expect = want == null ? before[i][a - w[0]] : want;
                if (expect != StackModel.DONT_CARE && expect != got) {
                    diff.append(String.format(Locale.ROOT, " [%x]=%02x want %02x", a, got, expect));
                }
            }
        }
        if (diff.length() > 0) {
            failures.add(what + ":" + diff);
        }
    }

    private static void check(StringBuilder diff, String name, int want, int got) {
        if (want != got) {
            diff.append(' ').append(name).append('=').append(hex(got)).append(" want ").append(hex(want));
        }
    }

    private static String hex(int v) {
        return Integer.toHexString(v);
    }

    // ------------------------------------------------------------------ the instructions

    private static byte[] b(int... v) {
        byte[] r = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = (byte) v[i];
        }
        return r;
    }

    private static byte[] cat(byte[] x, int value, int size) {
        byte[] r = java.util.Arrays.copyOf(x, x.length + size);
        for (int i = 0; i < size; i++) {
            r[x.length + i] = (byte) (value >>> (8 * i));
        }
        return r;
    }

    /** opcode bytes then a ModRM with {@code reg} addressing [MEMOP] in the context's address size. */
    private static byte[] memForm(Ctx c, int reg, int... opcode) {
        byte[] op = b(opcode);
        return c.a() ? cat(cat(op, reg << 3 | 5, 1), MEMOP, 4) : cat(cat(op, reg << 3 | 6, 1), MEMOP, 2);
    }

    /** Lays {@code size, value} pairs out on the stack from the current SP upwards. */
    private void stack(Ctx c, int... sizeValue) {
        int off = c.sp();
        for (int i = 0; i < sizeValue.length; i += 2) {
            int size = sizeValue[i];
            for (int j = 0; j < size; j++) {
                int lin = c.stack32() ? off + j : (off + j) & 0xffff;
                mem.write8(lin, (sizeValue[i + 1] >>> (8 * j)) & 0xff); // SS base 0
            }
            off = c.stack32() ? off + size : (off + size) & 0xffff;
        }
    }

    private static Setup none() {
        return c -> { };
    }

    private List<Insn> instructions() {
        List<Insn> l = new ArrayList<>();
        // PUSH/POP r (SDM PUSH, POP)
        l.add(new Insn("push ebx", false, (c, n) -> b(0x53), none(), (c, m, n) -> m.push(m.r[3], c.size())));
        l.add(new Insn("push esp", false, (c, n) -> b(0x54), none(), (c, m, n) -> m.push(m.r[4], c.size())));
        l.add(new Insn("push imm", false, (c, n) -> cat(b(0x68), 0x7654fedc, c.size()), none(),
                (c, m, n) -> m.push(c.o() ? 0x7654fedc : 0xfedc, c.size())));
        l.add(new Insn("push simm8", false, (c, n) -> b(0x6a, 0x80), none(), (c, m, n) -> m.push(0xffffff80, c.size())));
        l.add(new Insn("pop ebx", false, (c, n) -> b(0x5b), c -> stack(c, 4, 0x5a5a1234), (c, m, n) -> m.setReg(3, m.pop(c.size()), c.size())));
        // POP ESP: "increments the stack pointer before data at the old top of stack is written into the destination"
        l.add(new Insn("pop esp", false, (c, n) -> b(0x5c), c -> stack(c, 4, 0x00a52468), (c, m, n) -> {
            int v = m.pop(c.size());
            m.setReg(4, v, c.size());
        }));
        // PUSH/POP m (SDM PUSH, POP: an ESP base is computed after the increment for POP)
        l.add(new Insn("push m", false, (c, n) -> memForm(c, 6, 0xff), c -> mem.write32(MEMOP, 0x44332211),
                (c, m, n) -> m.push(m.read(MEMOP, c.size()), c.size())));
        l.add(new Insn("pop m", false, (c, n) -> memForm(c, 0, 0x8f), c -> stack(c, 4, 0x99887766),
                (c, m, n) -> m.write(MEMOP, m.pop(c.size()), c.size())));
        l.add(new Insn("push [esp+8]", true, (c, n) -> b(0xff, 0x74, 0x24, 0x08), none(),
                (c, m, n) -> m.push(m.read(m.r[4] + 8, c.size()), c.size())));
        l.add(new Insn("pop [esp+8]", true, (c, n) -> b(0x8f, 0x44, 0x24, 0x08), c -> stack(c, 4, 0x31415926), (c, m, n) -> {
            int v = m.pop(c.size());
            m.write(m.r[4] + 8, v, c.size());
        }));
        // PUSH/POP Sreg (SDM PUSH: a 32-bit push of a selector may leave the upper half; POP: loads the low 16 bits)
        int[][] pushSeg = {{0x06, -1, Cpu.ES}, {0x0e, -1, Cpu.CS}, {0x16, -1, Cpu.SS}, {0x1e, -1, Cpu.DS}, {0x0f, 0xa0, Cpu.FS},
            {0x0f, 0xa8, Cpu.GS}};
        for (int[] p : pushSeg) {
            l.add(new Insn("push sreg" + p[2], false, (c, n) -> p[1] < 0 ? b(p[0]) : b(p[0], p[1]), none(),
                    (c, m, n) -> m.pushSelector(m.sel[p[2]], c.size())));
        }
        int[][] popSeg = {{0x07, -1, Cpu.ES}, {0x1f, -1, Cpu.DS}, {0x0f, 0xa1, Cpu.FS}, {0x0f, 0xa9, Cpu.GS}};
        for (int[] p : popSeg) {
            l.add(new Insn("pop sreg" + p[2], false, (c, n) -> p[1] < 0 ? b(p[0]) : b(p[0], p[1]), c -> stack(c, 4, 0x5a5a0000 | DATA16),
                    (c, m, n) -> m.sel[p[2]] = m.pop(c.size()) & 0xffff));
        }
        // POP SS into the other stack size: ESP moves by the OLD stack's address size (SDM POP)
        l.add(new Insn("pop ss", false, (c, n) -> b(0x17), c -> stack(c, 4, 0x5a5a0000 | (c.stack32() ? DATA16 : DATA32)),
                (c, m, n) -> m.sel[Cpu.SS] = m.pop(c.size()) & 0xffff));
        // PUSHA/POPA, PUSHF/POPF
        l.add(new Insn("pusha", false, (c, n) -> b(0x60), none(), (c, m, n) -> m.pusha()));
        l.add(new Insn("popa", false, (c, n) -> b(0x61),
                c -> stack(c, 4, 0x10101010, 4, 0x20202020, 4, 0x30303030, 4, 0x40404040, 4, 0x50505050, 4, 0x60606060, 4, 0x70707070,
                        4, 0x80808080),
                (c, m, n) -> m.popa()));
        l.add(new Insn("pushf", false, (c, n) -> b(0x9c), none(), (c, m, n) -> m.pushf()));
        l.add(new Insn("popf", false, (c, n) -> b(0x9d), c -> stack(c, 4, POPPED_FLAGS), (c, m, n) -> m.popf()));
        // ENTER/LEAVE
        for (int level : new int[] {0, 1, 2, 3}) {
            l.add(new Insn("enter 8," + level, false, (c, n) -> b(0xc8, 0x08, 0x00, level), none(), (c, m, n) -> m.enter(8, level)));
        }
        l.add(new Insn("leave", false, (c, n) -> b(0xc9), none(), (c, m, n) -> m.leave()));
        // CALL/RET near (SDM CALL near: push EIP by operand size; RET: pop, then SP += imm16)
        l.add(new Insn("call rel", false, (c, n) -> cat(b(0xe8), TARGET - n, c.size()), none(), (c, m, n) -> {
            m.push(n, c.size());
            m.nearJump(TARGET);
        }));
        l.add(new Insn("call reg", false, (c, n) -> b(0xff, 0xd0), none(), (c, m, n) -> {
            m.push(n, c.size());
            m.nearJump(m.r[0]);
        }));
        l.add(new Insn("call m", false, (c, n) -> memForm(c, 2, 0xff), c -> mem.write32(MEMOP, c.o() ? TARGET : 0x66660000 | TARGET),
                (c, m, n) -> {
                    int t = m.read(MEMOP, c.size());
                    m.push(n, c.size());
                    m.nearJump(t);
                }));
        l.add(new Insn("ret", false, (c, n) -> b(0xc3), c -> stack(c, c.size(), TARGET), (c, m, n) -> m.nearJump(m.pop(c.size()))));
        l.add(new Insn("ret 0x10", false, (c, n) -> b(0xc2, 0x10, 0x00), c -> stack(c, c.size(), TARGET), (c, m, n) -> {
            m.nearJump(m.pop(c.size()));
            m.addSp(0x10);
        }));
        // CALL/RET far to 16- and 32-bit code segments of the same privilege
        for (int target : new int[] {CS16, CS32}) {
            l.add(new Insn("call far ptr " + target, false, (c, n) -> cat(cat(b(0x9a), TARGET, c.size()), target, 2), none(),
                    (c, m, n) -> m.callFar(target, TARGET, n)));
            l.add(new Insn("call far m " + target, false, (c, n) -> memForm(c, 3, 0xff), c -> {
                mem.write32(MEMOP, TARGET);
                mem.write16(MEMOP + c.size(), target);
            }, (c, m, n) -> m.callFar(target, TARGET, n)));
            l.add(new Insn("retf " + target, false, (c, n) -> b(0xcb), c -> stack(c, c.size(), TARGET, c.size(), 0x5a5a0000 | target),
                    (c, m, n) -> m.retFar(0)));
            l.add(new Insn("retf 8 " + target, false, (c, n) -> b(0xca, 0x08, 0x00),
                    c -> stack(c, c.size(), TARGET, c.size(), 0x5a5a0000 | target), (c, m, n) -> m.retFar(8)));
            l.add(new Insn("iret " + target, false, (c, n) -> b(0xcf),
                    c -> stack(c, c.size(), TARGET, c.size(), 0x5a5a0000 | target, c.size(), POPPED_FLAGS), (c, m, n) -> m.iret()));
        }
        // INT n through 16- and 32-bit interrupt gates (the gate's size, not the operand size, sets the pushes)
        for (boolean gate32 : new boolean[] {false, true}) {
            int sel = gate32 ? CS32 : CS16;
            l.add(new Insn("int gate" + (gate32 ? 32 : 16), false, (c, n) -> b(0xcd, VEC), c -> {
                mem.write32(IDT + VEC * 8, (sel << 16) | TARGET);
                mem.write32(IDT + VEC * 8 + 4, gate32 ? 0x8e00 : 0x8600);
            }, (c, m, n) -> m.intGate(gate32, sel, TARGET, n)));
        }
        return l;
    }
}
