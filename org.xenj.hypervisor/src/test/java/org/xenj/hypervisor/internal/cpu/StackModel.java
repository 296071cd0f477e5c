package org.xenj.hypervisor.internal.cpu;

import java.util.HashMap;
import java.util.Map;

import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * A small reference model of the stack-touching instructions, written from the Intel SDM vol. 2
 * instruction pages' "Operation" pseudo-code (cited per method), for protected mode at CPL 0 with
 * same-privilege transfers and no faults. It reads guest memory as it was before the emulator ran
 * and records its own writes; a byte it writes as {@link #DONT_CARE} may hold anything afterwards
 * (where the SDM leaves the value open).
 *
 * <p>Sizes: {@code o} is the operand size, {@code a} the address size (memory operands only), and
 * {@code stack32} the B bit of SS (SDM vol. 3 §3.4.5.1: the stack-address size: ESP or SP).
 */
final class StackModel {

    static final int DONT_CARE = -1;

    final int[] r = new int[8];
    final int[] sel = new int[6];
    int eip;
    int flags;
    boolean o, a, stack32;
    final Map<Integer, Integer> writes = new HashMap<>();
    private final DomainMemory mem;

    StackModel(DomainMemory mem) {
        this.mem = mem;
    }

    int read8(int lin) {
        Integer w = writes.get(lin);
        return w != null ? w : mem.read8(lin & 0xffffffffL);
    }

    int read(int lin, int size) {
        int v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | read8(lin + i);
        }
        return v;
    }

    void write(int lin, int v, int size) {
        for (int i = 0; i < size; i++) {
            writes.put(lin + i, (v >>> (8 * i)) & 0xff);
        }
    }

    int size() {
        return o ? 4 : 2;
    }

    /** The stack pointer as the stack-address size sees it. */
    int sp() {
        return stack32 ? r[4] : r[4] & 0xffff;
    }

    void addSp(int n) {
        if (stack32) {
            r[4] += n;
        } else {
            r[4] = (r[4] & 0xffff0000) | ((r[4] + n) & 0xffff);
        }
    }

    /** SDM vol. 2 PUSH, Operation: decrement by the operand size per the stack-address size, then store. */
    void push(int v, int size) {
        addSp(-size);
        write(sp(), v, size);
    }

    /** A 32-bit push of a 16-bit selector: SDM PUSH/CALL leave the upper two bytes open (zero or unchanged). */
    void pushSelector(int v, int size) {
        push(v, size);
        if (size == 4) {
            writes.put(sp() + 2, DONT_CARE);
            writes.put(sp() + 3, DONT_CARE);
        }
    }

    /** SDM vol. 2 POP, Operation: read at SS:(E)SP, then increment per the stack-address size. */
    int pop(int size) {
        int v = read(sp(), size);
        addSp(size);
        return v;
    }

    void setReg(int reg, int v, int size) {
        r[reg] = size == 4 ? v : (r[reg] & 0xffff0000) | (v & 0xffff);
    }

    /** SDM vol. 2 JMP/CALL/RET: tempEIP AND 0000FFFFH with a 16-bit operand size. */
    void nearJump(int target) {
        eip = o ? target : target & 0xffff;
    }

    /** SDM vol. 2 ENTER, Operation (non-64-bit): FrameTemp follows the operand size; BP/EBP walks by StackSize. */
    void enter(int alloc, int level) {
        level &= 31;
        int size = size();
        push(r[5], size);
        int frameTemp = o ? r[4] : r[4] & 0xffff;
        int bp = r[5];
        if (level > 0) {
            for (int i = 1; i < level; i++) {
                bp -= size;
                push(read(stack32 ? bp : bp & 0xffff, size), size);
            }
            push(frameTemp, size);
        }
        setReg(5, frameTemp, size);
        addSp(-alloc);
    }

    /** SDM vol. 2 LEAVE: ESP/SP ← EBP/BP by StackAddressSize, then EBP/BP ← Pop() by OperandSize. */
    void leave() {
        if (stack32) {
            r[4] = r[5];
        } else {
            r[4] = (r[4] & 0xffff0000) | (r[5] & 0xffff);
        }
        setReg(5, pop(size()), size());
    }

    /** SDM vol. 2 PUSHA/PUSHAD: Temp ← (E)SP; push EAX..EDI with Temp for (E)SP. */
    void pusha() {
        int temp = r[4];
        for (int i = 0; i < 8; i++) {
            push(i == 4 ? temp : r[i], size());
        }
    }

    /** SDM vol. 2 POPA/POPAD: pop EDI..EAX, the (E)SP slot is skipped (its value discarded). */
    void popa() {
        for (int i = 7; i >= 0; i--) {
            int v = pop(size());
            if (i != 4) {
                setReg(i, v, size());
            }
        }
    }

    /** SDM vol. 2 PUSHF/PUSHFD: EFLAGS AND 00FCFFFFH (VM and RF cleared), or the low 16 bits. */
    void pushf() {
        push(flags & 0x00fcffff, size());
    }

    /**
     * SDM vol. 2 POPF/POPFD, protected mode CPL 0: all non-reserved flags except VIP, VIF and VM
     * (unaffected) change, RF is cleared; a 16-bit operand changes only the low 16 bits.
     */
    void popf() {
        int v = pop(size());
        int mask = 0x00247fd5; // CF PF AF ZF SF TF IF DF OF IOPL NT AC ID
        if (!o) {
            mask &= 0xffff;
        }
        flags = (flags & ~mask) | (v & mask) | 2;
        flags &= ~(1 << 16);
    }

    /** SDM vol. 2 CALL far, same privilege: Push(CS) padded to the operand size, Push(EIP). */
    void callFar(int selector, int offset, int retEip) {
        pushSelector(sel[1], size());
        push(retEip, size());
        sel[1] = selector;
        eip = o ? offset : offset & 0xffff;
    }

    /** SDM vol. 2 RET far, same privilege: EIP ← Pop(), CS ← Pop() (the low 16 bits), then SP += imm16. */
    void retFar(int extra) {
        int e = pop(size());
        int cs = pop(size()) & 0xffff;
        sel[1] = cs;
        eip = o ? e : e & 0xffff;
        addSp(extra);
    }

    /**
     * SDM vol. 2 IRET, protected mode RETURN-TO-SAME-PRIVILEGE-LEVEL at CPL 0: EIP, CS, EFLAGS popped
     * by operand size; with 32 bits CF..OF, NT, IF, IOPL, RF, AC, ID come from the stack (VM, VIF, VIP
     * too at CPL 0, all zero here); with 16 bits only the low 16 bits of EFLAGS change.
     */
    void iret() {
        int e = pop(size());
        int cs = pop(size()) & 0xffff;
        int f = pop(size());
        sel[1] = cs;
        eip = o ? e : e & 0xffff;
        int mask = o ? 0x003f7fd5 : 0x7fd5;
        flags = (flags & ~mask) | (f & mask) | 2;
    }

    /**
     * SDM vol. 2 INT n, INTRA-PRIVILEGE-LEVEL-INTERRUPT through an interrupt gate: the gate's size
     * (not the operand size) sets the push size of EFLAGS, CS and EIP; TF, NT, RF, VM and IF are
     * cleared; CS:EIP from the gate.
     */
    void intGate(boolean gate32, int selector, int offset, int retEip) {
        int size = gate32 ? 4 : 2;
        push(flags, size);
        pushSelector(sel[1], size);
        push(retEip, size);
        flags &= ~(0x100 | 0x4000 | 0x10000 | 0x20000 | 0x200);
        sel[1] = selector;
        eip = gate32 ? offset : offset & 0xffff;
    }
}
