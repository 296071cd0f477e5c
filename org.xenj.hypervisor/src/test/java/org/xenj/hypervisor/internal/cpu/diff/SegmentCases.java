package org.xenj.hypervisor.internal.cpu.diff;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Segment loads and privilege checks at CPL 3, as a Linux user process sees them: loading DS/ES/FS/SS
 * with the host's selectors (null, user code 0x23, user data 0x2b, kernel 0x10/0x18, beyond the GDT
 * limit, an LDT selector without an LDT), then using the segment; and privileged instructions
 * (#GP). INT n is left out: Cpu.runTest stops at software interrupts before the gate checks.
 * The emulator mirrors the host's GDT (see {@link CpuHarness}).
 */
final class SegmentCases {

    static final int[] SELECTORS = {0, 1, 2, 3, 0x23, 0x2b, 0x28, 0x29, 0x10, 0x18, 0x1b, 0x13, 0x80, 0x83, 0xfff8, 0x07, 0x0c, 0x33};
    /** ES, SS, DS, FS (GS holds the host's TLS and is never touched). */
    static final int[] SREGS = {0, 2, 3, 4};

    private SegmentCases() {
    }

    static List<DiffCase> all(SplittableRandom r, int perGroup) {
        List<DiffCase> cases = new ArrayList<>();
        // every selector into every register, through a register, then used for a load
        for (int sel : SELECTORS) {
            for (int sreg : SREGS) {
                IntegerCases.Code code = new IntegerCases.Code();
                code.b(0x8E, 0xC0 | sreg << 3); // mov sreg, ax
                code.b(0x8C, 0xC1 | sreg << 3); // mov ecx, sreg
                if (sreg != 2) {
                    int prefix = new int[] {0x26, 0x2E, 0x36, 0x3E, 0x64}[sreg == 4 ? 4 : sreg];
                    code.b(prefix, 0x8B, 0x15).d(IntegerCases.MEM); // mov edx, sreg:[MEM]
                }
                DiffCase c = IntegerCases.base("segment", String.format("mov sreg%d, %04x", sreg, sel), r, code.bytes());
                c.gpr[0] = 0xabcd0000 | sel;
                c.gpr[1] = 0x11111111;
                markQemuUserBlind(c, sel, sreg);
                cases.add(c);
            }
        }
        byte[][] privileged = {
            {(byte) 0xF4}, {(byte) 0xFA}, {(byte) 0xFB}, {(byte) 0xEC}, {(byte) 0xEE}, {(byte) 0xE4, 0x60},
            {(byte) 0xE6, (byte) 0x80}, {0x0F, 0x06}, {0x0F, 0x08}, {0x0F, 0x09}, {0x0F, 0x20, (byte) 0xC0},
            {0x0F, 0x22, (byte) 0xC0}, {0x0F, 0x23, (byte) 0xF8}, {0x0F, 0x21, (byte) 0xC0}, {0x0F, 0x30}, {0x0F, 0x32},
            {0x0F, 0x01, 0x15, 0, 0, 0, 0x20}, {0x0F, 0x01, 0x1D, 0, 0, 0, 0x20}, {0x0F, 0x01, (byte) 0xF0},
            {0x0F, 0x01, 0x3D, 0, 0, 0, 0x20}, {0x0F, 0x00, (byte) 0xD8}, {0x0F, 0x00, (byte) 0xD0},
            {0x0F, 0x0B}, {(byte) 0xD6}, {0x0F, (byte) 0xFF},
        };
        for (byte[] p : privileged) {
            DiffCase c = IntegerCases.base("segment", "privileged " + DiffCase.hex(p), r, p);
            c.gpr[2] = 0x80; // DX port
            cases.add(c);
        }
        for (int i = 0; i < perGroup; i++) {
            cases.add(randomLoad(r, i));
        }
        return cases;
    }

    /**
     * What qemu-i386 does not model, found by comparing it with the emulator and the SDM: a data
     * access through a null selector (SDM vol. 3 §5.4.1: #GP(0)) goes through in QEMU's user mode,
     * and the GDT it gives an i386 process is its own (entry 6, selector 0x33, is the 64-bit user code
     * segment of the x86-64 kernels these cases mirror, an empty TLS slot in QEMU).
     */
    static void markQemuUserBlind(DiffCase c, int sel, int sreg) {
        if ((sel & 0xfffc) == 0 && sreg != 2) {
            c.qemuUserBlind = "data access through a null selector";
        } else if ((sel & 0xfff8) == 0x30) {
            c.qemuUserBlind = "selector 0x33 is the host kernel's GDT entry 6";
        }
    }

    /** POP sreg / LDS-family / MOV sreg from memory with a random selector, then a load through it. */
    static DiffCase randomLoad(SplittableRandom r, int n) {
        IntegerCases.Code code = new IntegerCases.Code();
        int sel = SELECTORS[r.nextInt(SELECTORS.length)];
        int kind = r.nextInt(4);
        int sreg;
        String name;
        switch (kind) {
            case 0 -> {
                sreg = SREGS[r.nextInt(SREGS.length)];
                code.b(0x8E).modrm(sreg, -1, IntegerCases.MEM);
                name = "mov sreg" + sreg + ", m16";
            }
            case 1 -> {
                sreg = SREGS[r.nextInt(SREGS.length)];
                switch (sreg) {
                    case 0 -> code.b(0x07);
                    case 2 -> code.b(0x17);
                    case 3 -> code.b(0x1F);
                    default -> code.b(0x0F, 0xA1);
                }
                name = "pop sreg" + sreg;
            }
            default -> {
                int which = r.nextInt(4); // LES LDS LFS LSS
                sreg = new int[] {0, 3, 4, 2}[which];
                if (which < 2) {
                    code.b(which == 0 ? 0xC4 : 0xC5);
                } else {
                    code.b(0x0F, which == 2 ? 0xB4 : 0xB2);
                }
                code.modrm(IntegerCases.regOperand(r), -1, IntegerCases.MEM - 4);
                name = new String[] {"les", "lds", "lfs", "lss"}[which];
            }
        }
        if (sreg != 2) {
            code.b(new int[] {0x26, 0, 0, 0x3E, 0x64}[sreg], 0x8B, 0x15).d(IntegerCases.MEM + 8); // mov edx, sreg:[..]
        }
        DiffCase c = IntegerCases.base("segment", String.format("%s %04x#%d", name, sel, n), r, code.bytes());
        markQemuUserBlind(c, sel, sreg);
        int memOff = IntegerCases.MEM - DiffCase.DATA_BASE;
        c.data[memOff] = (byte) sel;
        c.data[memOff + 1] = (byte) (sel >>> 8);
        int sp = c.gpr[4] - DiffCase.DATA_BASE;
        c.data[sp] = (byte) sel;
        c.data[sp + 1] = (byte) (sel >>> 8);
        c.data[sp + 2] = (byte) r.nextInt(256);
        c.data[sp + 3] = (byte) r.nextInt(256);
        return c;
    }
}
