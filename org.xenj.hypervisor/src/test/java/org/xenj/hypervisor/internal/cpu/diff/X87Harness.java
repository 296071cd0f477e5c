package org.xenj.hypervisor.internal.cpu.diff;

import org.xenj.hypervisor.internal.cpu.fpu.FpuMemory;
import org.xenj.hypervisor.internal.cpu.fpu.FpuUnit;
import org.xenj.hypervisor.internal.cpu.fpu.X87;

/**
 * Runs x87-only cases on {@link X87} without the integer core: a small decoder for ESC opcodes
 * with register operands or absolute disp32 memory operands, FWAIT, and the operand-size prefix;
 * pending unmasked exceptions raise #MF (vector 16) before waiting instructions, as hardware does.
 */
final class X87Harness {

    /** Where the harness keeps the FSAVE images it uses to load and read the state. */
    private static final int SCRATCH = 0x3000_0000;

    private X87Harness() {
    }

    static final class FlatMemory implements FpuMemory {
        final byte[] data;
        final byte[] scratch = new byte[512];

        FlatMemory(byte[] data) {
            this.data = data;
        }

        private byte[] arr(int a) {
            if (a - DiffCase.DATA_BASE >= 0 && a - DiffCase.DATA_BASE < data.length) {
                return data;
            }
            if (a - SCRATCH >= 0 && a - SCRATCH < scratch.length) {
                return scratch;
            }
            throw new PageFault(a);
        }

        private int idx(int a) {
            return arr(a) == data ? a - DiffCase.DATA_BASE : a - SCRATCH;
        }

        @Override
        public int readByte(int a) {
            return arr(a)[idx(a)] & 0xff;
        }

        @Override
        public int readWord(int a) {
            return readByte(a) | readByte(a + 1) << 8;
        }

        @Override
        public int readDword(int a) {
            return readWord(a) | readWord(a + 2) << 16;
        }

        @Override
        public long readQword(int a) {
            return readDword(a) & 0xffffffffL | (long) readDword(a + 4) << 32;
        }

        @Override
        public void writeByte(int a, int v) {
            arr(a)[idx(a)] = (byte) v;
        }

        @Override
        public void writeWord(int a, int v) {
            writeByte(a, v);
            writeByte(a + 1, v >>> 8);
        }

        @Override
        public void writeDword(int a, int v) {
            writeWord(a, v);
            writeWord(a + 2, v >>> 16);
        }

        @Override
        public void writeQword(int a, long v) {
            writeDword(a, (int) v);
            writeDword(a + 4, (int) (v >>> 32));
        }
    }

    static final class PageFault extends RuntimeException {
        PageFault(int a) {
            super(String.format("no memory at %08x", a), null, false, false);
        }
    }

    /** Non-waiting control instructions: they do not take a pending #MF. */
    static boolean noWait(int op, int modrm) {
        int reg = modrm >>> 3 & 7;
        boolean mem = modrm < 0xC0;
        return op == 0xDB && (modrm == 0xE2 || modrm == 0xE3 || modrm == 0xE0 || modrm == 0xE1 || modrm == 0xE4)
                || op == 0xD9 && mem && (reg == 6 || reg == 7)
                || op == 0xDD && mem && (reg == 6 || reg == 7)
                || op == 0xDF && modrm == 0xE0;
    }

    static DiffResult run(DiffCase c) {
        DiffResult res = new DiffResult();
        byte[] data = c.data.clone();
        FlatMemory mem = new FlatMemory(data);
        X87 fpu = new X87(mem);
        fpu.setDataSelector(0x2b); // the host user DS
        System.arraycopy(c.fpu, 0, mem.scratch, 0, 108);
        fpu.execute(0xDD, 0x25, SCRATCH, c.eflags, true, true, 0, 0); // FRSTOR
        System.arraycopy(c.gpr, 0, res.gpr, 0, 8);
        int eflags = c.eflags;
        byte[] code = c.code;
        int pos = 0;
        res.vector = -1;
        try {
            while (pos < code.length) {
                int start = pos;
                boolean opSize32 = true;
                int b = code[pos++] & 0xff;
                if (b == 0x66) {
                    opSize32 = false;
                    b = code[pos++] & 0xff;
                }
                if (b == 0x9B) {
                    if (fpu.errorPending()) {
                        res.vector = 16;
                        res.eip = DiffCase.CODE_BASE + start;
                        break;
                    }
                    continue;
                }
                if (b < 0xD8 || b > 0xDF) {
                    throw new IllegalArgumentException("harness decodes only x87 instructions: " + c);
                }
                int modrm = code[pos++] & 0xff;
                int linear = 0;
                if (modrm < 0xC0) {
                    if ((modrm & 0xC7) != 0x05) {
                        throw new IllegalArgumentException("harness supports only disp32 operands: " + c);
                    }
                    linear = (code[pos] & 0xff) | (code[pos + 1] & 0xff) << 8 | (code[pos + 2] & 0xff) << 16
                            | (code[pos + 3] & 0xff) << 24;
                    pos += 4;
                }
                if (!X87.isDefined(b, modrm)) {
                    res.vector = 6;
                    res.eip = DiffCase.CODE_BASE + start;
                    break;
                }
                if (!noWait(b, modrm) && fpu.errorPending()) {
                    res.vector = 16;
                    res.eip = DiffCase.CODE_BASE + start;
                    break;
                }
                if (b == 0xDF && modrm == 0xE0) {
                    res.gpr[0] = res.gpr[0] & 0xffff0000 | fpu.statusWord();
                    continue;
                }
                int r = fpu.execute(b, modrm, linear, eflags, opSize32, true, DiffCase.CODE_BASE + start, 0x23);
                if (r == FpuUnit.UNDEFINED) {
                    res.vector = 6;
                    res.eip = DiffCase.CODE_BASE + start;
                    break;
                }
                if (r >= 0) {
                    eflags = eflags & ~0x8D5 | r;
                }
            }
            if (res.vector < 0) {
                res.eip = DiffCase.CODE_BASE + code.length;
            }
        } catch (PageFault f) {
            res.vector = 14;
        }
        res.eflags = eflags;
        res.mxcsr = c.mxcsr; // the x87 unit alone never changes MXCSR or the XMM registers
        System.arraycopy(c.xmm, 0, res.xmm, 0, res.xmm.length);
        fpu.execute(0xDD, 0x35, SCRATCH, eflags, true, true, 0, 0); // FNSAVE
        System.arraycopy(mem.scratch, 0, res.fpu, 0, 108);
        res.data = data;
        return res;
    }
}
