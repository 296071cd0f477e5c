package org.xenj.hypervisor.internal.cpu.diff;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Says whether a case's 32-bit code gives the same 32-bit results when run in 64-bit mode, and
 * if so rewrites it so that it does: the x86-64 native runner then answers it on real hardware
 * on hosts that cannot execute i386 code.
 *
 * <p>Only an explicit allow-list is accepted: instructions whose 64-bit-mode semantics at 32-bit
 * (or 8/16-bit) operand size are the same as in protected mode (AMD64 APM vol. 3, "Instruction
 * Differences in 64-Bit Mode", and Intel SDM vol. 2 appendix A's i64/o64 markings): ALU,
 * shifts/rotates incl. SHLD/SHRD, MUL/IMUL/DIV/IDIV, bit operations, SETcc/CMOVcc, MOV/MOVZX/MOVSX,
 * XCHG/XADD/CMPXCHG/CMPXCHG8B, LEA, string instructions, Jcc/JMP/LOOP/JECXZ, XLAT, flag
 * instructions, x87 and FXSAVE/FXRSTOR. Anything else — BCD (0x27/0x2F/0x37/0x3F, AAM, AAD),
 * 0x40–0x4F INC/DEC (REX prefixes in long mode), PUSH/POP/CALL/RET/ENTER/LEAVE/PUSHA/PUSHF (64-bit
 * stack), segment loads and overrides, far transfers, INTO, BOUND, privileged instructions — makes
 * the case 32-bit only.
 *
 * <p>The rewrite keeps each instruction and adds only what long mode needs to mean the same:
 * <ul>
 * <li>{@code 0x67} before every instruction with a memory operand, and before string
 * instructions, LOOP/JECXZ, XLAT and MOV moffs: 32-bit addresses from ESI/EDI/ECX/EBX and the
 * other 32-bit registers, wrapping at 4 GiB exactly as in protected mode;</li>
 * <li>an absolute {@code [disp32]} operand (ModRM mod=00 r/m=101, RIP-relative in long mode) as
 * ModRM r/m=100 with SIB 0x25 (no base, no index) and the same displacement;</li>
 * <li>branch displacements re-targeted to the same instruction.</li>
 * </ul>
 * Instruction boundaries are recorded so that EIP and the x87 FIP reported by the host map back to
 * the original code's offsets.
 */
final class LongModeEncoder {

    /** The long-mode code and the instruction starts (plus the end) in both encodings. */
    static final class Encoded {
        final byte[] code;
        final int[] starts32;
        final int[] starts64;
        /** Per instruction: the original ModRM byte where the rewrite changed it, else -1. */
        final int[] rewrittenModrm;
        /** FNSTENV/FNSAVE images the code stores: {absolute address, 1 for the 16-bit format}. */
        final List<int[]> envStores;

        Encoded(byte[] code, int[] starts32, int[] starts64, int[] rewrittenModrm, List<int[]> envStores) {
            this.code = code;
            this.starts32 = starts32;
            this.starts64 = starts64;
            this.rewrittenModrm = rewrittenModrm;
            this.envStores = envStores;
        }

        /**
         * The x87 FOP as the original code would leave it: FOP holds the last x87 instruction's
         * ModRM byte, which the [disp32] rewrite changed; {@code fip64} locates that instruction.
         */
        int mapFop(int fop, int fip64, int base) {
            int i = Arrays.binarySearch(starts64, fip64 - base);
            return i >= 0 && i < rewrittenModrm.length && rewrittenModrm[i] >= 0 ? fop & 0x700 | rewrittenModrm[i] : fop;
        }

        /**
         * Maps an address in the long-mode code back to the original code (at the same base); an
         * address outside the code, or inside an instruction, is returned unchanged.
         */
        int mapBack(int address, int base) {
            int off = address - base;
            int i = Arrays.binarySearch(starts64, off);
            return i >= 0 ? base + starts32[i] : address;
        }
    }

    private static final int NONE = 0, IMM8 = 1, IMMZ = 2, REL8 = 3, REL32 = 4, MOFFS = 5;

    /** One allowed opcode: whether it has ModRM, what follows it, which ModRM.reg values are allowed. */
    private record Shape(boolean modrm, int tail, boolean addr32, int regMask, boolean memoryOnly, int tailForReg01) {
    }

    private static final Shape[] ONE = new Shape[256];
    private static final Shape[] TWO = new Shape[256];

    private static Shape modrm(int tail) {
        return new Shape(true, tail, false, 0xff, false, -1);
    }

    private static Shape plain(int tail) {
        return new Shape(false, tail, false, 0, false, -1);
    }

    static {
        for (int op = 0; op < 0x40; op++) { // ADD OR ADC SBB AND SUB XOR CMP; column 6/7 are segment or BCD
            switch (op & 7) {
                case 0, 1, 2, 3 -> ONE[op] = modrm(NONE);
                case 4 -> ONE[op] = plain(IMM8);
                case 5 -> ONE[op] = plain(IMMZ);
                default -> { }
            }
        }
        ONE[0x0F] = null; // two-byte escape, handled separately
        ONE[0x69] = modrm(IMMZ);
        ONE[0x6B] = modrm(IMM8);
        for (int op = 0x70; op <= 0x7F; op++) {
            ONE[op] = plain(REL8);
        }
        ONE[0x80] = modrm(IMM8);
        ONE[0x81] = modrm(IMMZ);
        ONE[0x83] = modrm(IMM8);
        for (int op = 0x84; op <= 0x8B; op++) {
            ONE[op] = modrm(NONE);
        }
        ONE[0x8D] = new Shape(true, NONE, false, 0xff, true, -1); // LEA
        for (int op = 0x90; op <= 0x99; op++) { // XCHG eAX,r; CBW/CWDE; CWD/CDQ
            ONE[op] = plain(NONE);
        }
        ONE[0x9B] = plain(NONE); // FWAIT
        ONE[0x9E] = plain(NONE); // SAHF (CPUID 8000_0001h ECX[0] on every AMD64 processor since 2005)
        ONE[0x9F] = plain(NONE); // LAHF
        for (int op = 0xA0; op <= 0xA3; op++) {
            ONE[op] = new Shape(false, MOFFS, true, 0, false, -1);
        }
        for (int op : new int[] {0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF}) {
            ONE[op] = new Shape(false, NONE, true, 0, false, -1);
        }
        ONE[0xA8] = plain(IMM8);
        ONE[0xA9] = plain(IMMZ);
        for (int op = 0xB0; op <= 0xB7; op++) {
            ONE[op] = plain(IMM8);
            ONE[op + 8] = plain(IMMZ);
        }
        ONE[0xC0] = modrm(IMM8);
        ONE[0xC1] = modrm(IMM8);
        ONE[0xC6] = new Shape(true, IMM8, false, 0x01, false, -1);
        ONE[0xC7] = new Shape(true, IMMZ, false, 0x01, false, -1);
        for (int op = 0xD0; op <= 0xD3; op++) {
            ONE[op] = modrm(NONE);
        }
        ONE[0xD7] = new Shape(false, NONE, true, 0, false, -1); // XLAT
        for (int op = 0xD8; op <= 0xDF; op++) {
            ONE[op] = modrm(NONE);
        }
        for (int op = 0xE0; op <= 0xE3; op++) { // LOOPNE LOOPE LOOP JECXZ: ECX with 0x67
            ONE[op] = new Shape(false, REL8, true, 0, false, -1);
        }
        ONE[0xE9] = plain(REL32);
        ONE[0xEB] = plain(REL8);
        for (int op : new int[] {0xF5, 0xF8, 0xF9, 0xFC, 0xFD}) {
            ONE[op] = plain(NONE);
        }
        ONE[0xF6] = new Shape(true, NONE, false, 0xff, false, IMM8); // TEST /0 /1 take an immediate
        ONE[0xF7] = new Shape(true, NONE, false, 0xff, false, IMMZ);
        ONE[0xFE] = new Shape(true, NONE, false, 0x03, false, -1); // INC/DEC only
        ONE[0xFF] = new Shape(true, NONE, false, 0x03, false, -1); // not CALL/JMP/PUSH (64-bit)

        for (int op = 0x40; op <= 0x4F; op++) {
            TWO[op] = modrm(NONE); // CMOVcc
            TWO[op + 0x50] = modrm(NONE); // SETcc (0x90..0x9F)
        }
        for (int op = 0x80; op <= 0x8F; op++) {
            TWO[op] = plain(REL32);
        }
        for (int op : new int[] {0xA3, 0xA5, 0xAB, 0xAD, 0xAF, 0xB0, 0xB1, 0xB3, 0xB6, 0xB7, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF,
            0xC0, 0xC1}) {
            TWO[op] = modrm(NONE);
        }
        TWO[0xA4] = modrm(IMM8);
        TWO[0xAC] = modrm(IMM8);
        TWO[0xBA] = new Shape(true, IMM8, false, 0xF0, false, -1); // BT/BTS/BTR/BTC imm8
        TWO[0xAE] = new Shape(true, NONE, false, 0x0F, true, -1); // FXSAVE/FXRSTOR (32-bit image without REX.W), LDMXCSR/STMXCSR
        // MMX, SSE, SSE2 without REX: the same registers and results in 64-bit mode (SDM vol. 2 table A-3)
        for (int op = 0x10; op <= 0x7F; op++) {
            if (op <= 0x17 || op >= 0x28 && op <= 0x2F || op >= 0x50 && op <= 0x76 || op >= 0x7E) {
                TWO[op] = modrm(NONE);
            }
        }
        for (int op = 0xD1; op <= 0xFE; op++) {
            TWO[op] = modrm(NONE);
        }
        for (int op : new int[] {0x70, 0x71, 0x72, 0x73, 0xC2, 0xC4, 0xC5, 0xC6}) {
            TWO[op] = modrm(IMM8);
        }
        TWO[0x77] = plain(NONE); // EMMS
        TWO[0xC3] = new Shape(true, NONE, false, 0xff, true, -1); // MOVNTI
        TWO[0xF7] = new Shape(true, NONE, true, 0xff, false, -1); // MASKMOVQ/MASKMOVDQU: [EDI] with 0x67
        TWO[0xC7] = new Shape(true, NONE, false, 0x02, true, -1); // CMPXCHG8B
        for (int op = 0xC8; op <= 0xCF; op++) {
            TWO[op] = plain(NONE); // BSWAP
        }
    }

    private LongModeEncoder() {
    }

    /** The long-mode form of {@code code}, or null when some instruction exists only outside long mode. */
    static Encoded encode(byte[] code) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<int[]> starts = new ArrayList<>();
        List<int[]> branches = new ArrayList<>(); // {pos64 of displacement, size, target32, end64}
        List<int[]> envStores = new ArrayList<>();
        int pos = 0;
        while (pos < code.length) {
            starts.add(new int[] {pos, out.size(), -1});
            int p = pos;
            boolean opsize16 = false;
            ByteArrayOutputStream prefixes = new ByteArrayOutputStream();
            while (p < code.length && (u(code, p) == 0x66 || u(code, p) == 0xF2 || u(code, p) == 0xF3 || u(code, p) == 0xF0)) {
                opsize16 |= u(code, p) == 0x66;
                prefixes.write(code[p++]);
            }
            if (p >= code.length) {
                return null;
            }
            boolean twoByte = u(code, p) == 0x0F;
            if (twoByte && p + 1 >= code.length) {
                return null;
            }
            int op = twoByte ? u(code, p + 1) : u(code, p);
            Shape s = twoByte ? TWO[op] : ONE[op];
            if (s == null) {
                return null;
            }
            int opStart = p;
            p += twoByte ? 2 : 1;
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            boolean addr32 = s.addr32;
            int tail = s.tail;
            if (s.modrm) {
                if (p >= code.length) {
                    return null;
                }
                int m = u(code, p++);
                int mod = m >>> 6, reg = m >>> 3 & 7, rm = m & 7;
                if ((s.regMask >>> reg & 1) == 0 || s.memoryOnly && mod == 3) {
                    return null;
                }
                if (s.tailForReg01 >= 0 && reg < 2) {
                    tail = s.tailForReg01;
                }
                if (mod != 3 && !twoByte && (op == 0xD9 || op == 0xDD) && reg == 6) { // FNSTENV / FNSAVE
                    if (mod != 0 || rm != 5) {
                        return null; // the image's FIP/FCS are mapped back only at a known address
                    }
                    int at = le32(code, p);
                    // one image per address, as the last store left it; overlapping images are not mapped
                    envStores.removeIf(st -> st[0] == at);
                    if (envStores.stream().anyMatch(st -> Math.abs(st[0] - at) < 108)) {
                        return null;
                    }
                    envStores.add(new int[] {at, opsize16 ? 1 : 0});
                }
                if (mod != 3) {
                    addr32 = true;
                    if (mod == 0 && rm == 5) { // [disp32]: through a SIB byte, not RIP-relative
                        starts.get(starts.size() - 1)[2] = m;
                        body.write(reg << 3 | 4);
                        body.write(0x25);
                        if (!copy(code, p, 4, body)) {
                            return null;
                        }
                        p += 4;
                    } else {
                        body.write(m);
                        int disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
                        if (rm == 4) {
                            if (p >= code.length) {
                                return null;
                            }
                            int sib = u(code, p++);
                            body.write(sib);
                            if (mod == 0 && (sib & 7) == 5) {
                                disp = 4;
                            }
                        }
                        if (!copy(code, p, disp, body)) {
                            return null;
                        }
                        p += disp;
                    }
                } else {
                    body.write(m);
                }
            }
            int tailLen = switch (tail) {
                case IMM8, REL8 -> 1;
                case IMMZ -> opsize16 ? 2 : 4;
                case REL32 -> opsize16 ? -1 : 4;
                case MOFFS -> 4;
                default -> 0;
            };
            if (tailLen < 0 || p + tailLen > code.length) {
                return null;
            }
            out.writeBytes(prefixes.toByteArray());
            if (addr32) {
                out.write(0x67);
            }
            out.write(code, opStart, twoByte ? 2 : 1);
            out.writeBytes(body.toByteArray());
            if (tail == REL8 || tail == REL32) {
                int disp = tailLen == 1 ? code[p] : le32(code, p);
                int target32 = p + tailLen + disp;
                branches.add(new int[] {out.size(), tailLen, target32, out.size() + tailLen});
            }
            out.write(code, p, tailLen);
            p += tailLen;
            pos = p;
        }
        starts.add(new int[] {pos, out.size(), -1});
        byte[] code64 = out.toByteArray();
        int[] s32 = starts.stream().mapToInt(a -> a[0]).toArray();
        int[] s64 = starts.stream().mapToInt(a -> a[1]).toArray();
        for (int[] b : branches) {
            int i = Arrays.binarySearch(s32, b[2]);
            if (i < 0) {
                return null; // a branch into the middle of an instruction, or out of the code
            }
            int disp = s64[i] - b[3];
            if (b[1] == 1) {
                if (disp < -128 || disp > 127) {
                    return null;
                }
                code64[b[0]] = (byte) disp;
            } else {
                for (int k = 0; k < 4; k++) {
                    code64[b[0] + k] = (byte) (disp >>> 8 * k);
                }
            }
        }
        return new Encoded(code64, s32, s64, starts.stream().mapToInt(a -> a[2]).toArray(), envStores);
    }

    private static int u(byte[] b, int i) {
        return b[i] & 0xff;
    }

    private static int le32(byte[] b, int i) {
        return u(b, i) | u(b, i + 1) << 8 | u(b, i + 2) << 16 | u(b, i + 3) << 24;
    }

    private static boolean copy(byte[] code, int p, int n, ByteArrayOutputStream to) {
        if (p + n > code.length) {
            return false;
        }
        to.write(code, p, n);
        return true;
    }
}
