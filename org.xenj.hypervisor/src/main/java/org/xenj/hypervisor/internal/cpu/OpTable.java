package org.xenj.hypervisor.internal.cpu;

/**
 * The instruction table: for every one-byte opcode (0x00-0xFF) and two-byte opcode (0x100 | second
 * byte) whether a ModRM byte follows and which immediate. The decoder is driven by it, so the
 * interpreter, a future translator and tests agree on instruction lengths.
 */
final class OpTable {

    static final int MODRM = 0x10;
    static final int INVALID = 0x20;
    static final int PREFIX = 0x40;
    /** Immediate kinds (low nibble). */
    static final int I_NONE = 0, I_B = 1, I_W = 2, I_Z = 3, I_MOFFS = 4, I_FAR = 5, I_ENTER = 6, I_GRP3B = 7, I_GRP3Z = 8;

    static final int[] ATTR = new int[512];

    private OpTable() {
    }

    private static void set(int from, int to, int attr) {
        for (int op = from; op <= to; op++) {
            ATTR[op] = attr;
        }
    }

    static {
        set(0, 511, INVALID);
        for (int base = 0; base < 0x40; base += 8) { // ALU groups 00-3F
            set(base, base + 3, MODRM);
            ATTR[base + 4] = I_B;
            ATTR[base + 5] = I_Z;
            ATTR[base + 6] = I_NONE;
            ATTR[base + 7] = I_NONE;
        }
        ATTR[0x0f] = INVALID; // handled as escape
        for (int p : new int[] {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3}) {
            ATTR[p] = PREFIX;
        }
        set(0x40, 0x61, I_NONE);
        ATTR[0x62] = MODRM;
        ATTR[0x63] = MODRM;
        ATTR[0x68] = I_Z;
        ATTR[0x69] = MODRM | I_Z;
        ATTR[0x6a] = I_B;
        ATTR[0x6b] = MODRM | I_B;
        set(0x6c, 0x6f, I_NONE);
        set(0x70, 0x7f, I_B);
        ATTR[0x80] = MODRM | I_B;
        ATTR[0x81] = MODRM | I_Z;
        ATTR[0x82] = MODRM | I_B;
        ATTR[0x83] = MODRM | I_B;
        set(0x84, 0x8f, MODRM);
        set(0x90, 0x99, I_NONE);
        ATTR[0x9a] = I_FAR;
        set(0x9b, 0x9f, I_NONE);
        set(0xa0, 0xa3, I_MOFFS);
        set(0xa4, 0xa7, I_NONE);
        ATTR[0xa8] = I_B;
        ATTR[0xa9] = I_Z;
        set(0xaa, 0xaf, I_NONE);
        set(0xb0, 0xb7, I_B);
        set(0xb8, 0xbf, I_Z);
        ATTR[0xc0] = MODRM | I_B;
        ATTR[0xc1] = MODRM | I_B;
        ATTR[0xc2] = I_W;
        ATTR[0xc3] = I_NONE;
        ATTR[0xc4] = MODRM;
        ATTR[0xc5] = MODRM;
        ATTR[0xc6] = MODRM | I_B;
        ATTR[0xc7] = MODRM | I_Z;
        ATTR[0xc8] = I_ENTER;
        ATTR[0xc9] = I_NONE;
        ATTR[0xca] = I_W;
        set(0xcb, 0xcc, I_NONE);
        ATTR[0xcd] = I_B;
        set(0xce, 0xcf, I_NONE);
        set(0xd0, 0xd3, MODRM);
        ATTR[0xd4] = I_B;
        ATTR[0xd5] = I_B;
        set(0xd6, 0xd7, I_NONE);
        set(0xd8, 0xdf, MODRM);
        set(0xe0, 0xe7, I_B);
        ATTR[0xe8] = I_Z;
        ATTR[0xe9] = I_Z;
        ATTR[0xea] = I_FAR;
        ATTR[0xeb] = I_B;
        set(0xec, 0xef, I_NONE);
        ATTR[0xf1] = I_NONE;
        set(0xf4, 0xf5, I_NONE);
        ATTR[0xf6] = MODRM | I_GRP3B;
        ATTR[0xf7] = MODRM | I_GRP3Z;
        set(0xf8, 0xfd, I_NONE);
        ATTR[0xfe] = MODRM;
        ATTR[0xff] = MODRM;

        // two-byte opcodes 0F xx
        set(0x100, 0x103, MODRM);
        ATTR[0x106] = I_NONE; // CLTS
        ATTR[0x108] = I_NONE; // INVD
        ATTR[0x109] = I_NONE; // WBINVD
        ATTR[0x10b] = I_NONE; // UD2
        ATTR[0x10d] = MODRM; // NOP Ev (prefetch hint)
        set(0x118, 0x11f, MODRM); // hint NOPs
        set(0x120, 0x123, MODRM);
        set(0x130, 0x135, I_NONE); // WRMSR RDTSC RDMSR RDPMC SYSENTER SYSEXIT
        set(0x140, 0x14f, MODRM); // CMOVcc
        set(0x180, 0x18f, I_Z); // Jcc rel
        set(0x190, 0x19f, MODRM); // SETcc
        set(0x1a0, 0x1a2, I_NONE); // PUSH FS, POP FS, CPUID
        ATTR[0x1a3] = MODRM;
        ATTR[0x1a4] = MODRM | I_B;
        ATTR[0x1a5] = MODRM;
        set(0x1a8, 0x1a9, I_NONE);
        ATTR[0x1ab] = MODRM;
        ATTR[0x1ac] = MODRM | I_B;
        ATTR[0x1ad] = MODRM;
        ATTR[0x1ae] = MODRM;
        ATTR[0x1af] = MODRM;
        set(0x1b0, 0x1b7, MODRM);
        ATTR[0x1ba] = MODRM | I_B;
        set(0x1bb, 0x1bf, MODRM);
        set(0x1c0, 0x1c1, MODRM);
        ATTR[0x1c7] = MODRM;
        set(0x1c8, 0x1cf, I_NONE); // BSWAP
        ATTR[0x1ff] = MODRM; // UD0
        // MMX, SSE, SSE2 (SDM vol. 2 table A-3): ModRM everywhere, an imm8 for the shuffles, the
        // shift-by-immediate groups, CMPPS/PD/SS/SD and PINSRW/PEXTRW; EMMS has neither
        set(0x110, 0x117, MODRM);
        set(0x128, 0x12f, MODRM);
        set(0x150, 0x17f, MODRM);
        set(0x178, 0x17d, INVALID);
        ATTR[0x170] = MODRM | I_B;
        set(0x171, 0x173, MODRM | I_B);
        ATTR[0x177] = I_NONE;
        set(0x1c2, 0x1c6, MODRM);
        ATTR[0x1c2] = MODRM | I_B;
        ATTR[0x1c4] = MODRM | I_B;
        ATTR[0x1c5] = MODRM | I_B;
        ATTR[0x1c6] = MODRM | I_B;
        set(0x1d1, 0x1fe, MODRM);
    }

    static boolean hasModrm(int op) {
        return (ATTR[op] & MODRM) != 0;
    }
}
