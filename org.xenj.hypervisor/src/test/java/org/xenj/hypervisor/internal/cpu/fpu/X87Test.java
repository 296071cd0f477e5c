package org.xenj.hypervisor.internal.cpu.fpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * Unit tests of what the host-CPU differential test cannot reach (real-mode layouts, FXSAVE, bad
 * input) plus a few exact results. The bit-exact behaviour of every instruction is checked
 * against the host CPU by {@code X87DiffTest}.
 */
class X87Test {

    static final int BASE = 0x1000;

    /** 8 KiB of flat memory at BASE; anything else faults. */
    static final class Mem implements FpuMemory {
        final ByteBuffer b = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN);

        int at(int a, int size) {
            if (a < BASE || a + size > BASE + 8192) {
                throw new IndexOutOfBoundsException("fault at " + Integer.toHexString(a));
            }
            return a - BASE;
        }

        @Override
        public int readByte(int a) {
            return b.get(at(a, 1)) & 0xff;
        }

        @Override
        public int readWord(int a) {
            return b.getShort(at(a, 2)) & 0xffff;
        }

        @Override
        public int readDword(int a) {
            return b.getInt(at(a, 4));
        }

        @Override
        public long readQword(int a) {
            return b.getLong(at(a, 8));
        }

        @Override
        public void writeByte(int a, int v) {
            b.put(at(a, 1), (byte) v);
        }

        @Override
        public void writeWord(int a, int v) {
            b.putShort(at(a, 2), (short) v);
        }

        @Override
        public void writeDword(int a, int v) {
            b.putInt(at(a, 4), v);
        }

        @Override
        public void writeQword(int a, long v) {
            b.putLong(at(a, 8), v);
        }
    }

    final Mem mem = new Mem();
    final X87 fpu = new X87(mem);

    int run(int op, int modrm) {
        return fpu.execute(op, modrm, 0, 0x202, true, true, 0x1234, 0x23);
    }

    int runMem(int op, int reg, int linear, boolean opSize32, boolean pm) {
        return fpu.execute(op, reg << 3 | 5, linear, 0x202, opSize32, pm, 0x00012345, 0x23);
    }

    @Test
    void oneThirdRoundsPerPrecisionControl() {
        // PC=24, RC=nearest: 1/3 = 0.AAAAAB (24 bits)
        mem.writeWord(BASE, 0x007F);
        runMem(0xD9, 5, BASE, true, true);
        mem.writeDword(BASE + 16, 3);
        runMem(0xDB, 0, BASE + 16, true, true); // FILD 3
        run(0xD9, 0xE8); // FLD1
        run(0xDE, 0xF1); // FDIVRP: ST1 = ST0 / ST1 = 1/3, pop
        assertEquals(0xAAAAAB0000000000L, fpu.st80Significand(0));
        assertEquals(0x3ffd, fpu.st80SignExponent(0));
        assertTrue((fpu.statusWord() & 0x20) != 0, "precision exception");
        assertTrue((fpu.statusWord() & 0x200) != 0, "C1: rounded up");
    }

    @Test
    void sqrtTwoIsCorrectlyRounded() {
        mem.writeDword(BASE, 2);
        runMem(0xDB, 0, BASE, true, true); // FILD 2
        run(0xD9, 0xFA); // FSQRT
        assertEquals(0xB504F333F9DE6484L, fpu.st80Significand(0));
        assertEquals(0x3fff, fpu.st80SignExponent(0));
    }

    @Test
    void unmaskedZeroDivideSetsErrorPendingUntilFnclex() {
        mem.writeWord(BASE, 0x037B); // ZE unmasked
        runMem(0xD9, 5, BASE, true, true);
        run(0xD9, 0xEE); // FLDZ
        run(0xD9, 0xE8); // FLD1
        run(0xDE, 0xF1); // FDIVRP: ST1 = ST0 / ST1 = 1/0
        assertTrue(fpu.errorPending());
        assertEquals(0x8084, fpu.statusWord() & 0x80FF, "B, ES and ZE");
        run(0xDB, 0xE2); // FNCLEX
        assertFalse(fpu.errorPending());
        assertEquals(0, fpu.statusWord() & 0x80FF);
    }

    @Test
    void stackOverflowPushesIndefiniteWithC1() {
        for (int i = 0; i < 9; i++) {
            run(0xD9, 0xE8); // FLD1 x9
        }
        assertEquals(0xC000000000000000L, fpu.st80Significand(0));
        assertEquals(0xFFFF, fpu.st80SignExponent(0));
        assertEquals(0x241, fpu.statusWord() & 0x2FF, "C1, SF, IE");
    }

    @Test
    void realModeEnvironmentRoundTripsInBothSizes() {
        for (boolean o32 : new boolean[] {true, false}) {
            fpu.reset();
            mem.writeDword(BASE + 64, 12345);
            runMem(0xDB, 0, BASE + 64, true, false); // FILD: sets FIP 0x12345 and FDP
            runMem(0xDD, 6, BASE, o32, false); // FNSAVE (real-mode layout)
            if (o32) {
                assertEquals(0x2345, mem.readDword(BASE + 12) & 0xffff, "FIP low");
                assertEquals(0x1 << 12 | 0x300 | 0x05, mem.readDword(BASE + 16) & 0xffff_ffff, "FIP high + FOP");
            } else {
                assertEquals(0x2345, mem.readWord(BASE + 6), "FIP low");
                assertEquals(0x1 << 12 | 0x305, mem.readWord(BASE + 8), "FIP[19:16] + FOP");
            }
            assertEquals(0xFFFF, fpu.tagWord(), "FNSAVE reinitializes");
            runMem(0xDD, 4, BASE, o32, false); // FRSTOR
            assertEquals(0xC0E4000000000000L, fpu.st80Significand(0));
            assertEquals(0x400c, fpu.st80SignExponent(0));
            assertEquals(0x3fff, fpu.tagWord(), "one valid register");
            runMem(0xD9, 6, BASE + 256, o32, false); // FNSTENV after the round trip: same pointers
            if (o32) {
                assertEquals(0x1 << 12 | 0x305, mem.readDword(BASE + 256 + 16));
                assertEquals((BASE + 64) & 0xffff, mem.readDword(BASE + 256 + 20) & 0xffff);
            } else {
                assertEquals(0x1 << 12 | 0x305, mem.readWord(BASE + 256 + 8));
            }
        }
    }

    @Test
    void fxsaveLayoutAndRoundTrip() {
        run(0xD9, 0xEB); // FLDPI
        run(0xD9, 0xE8); // FLD1
        fpu.fxsave(BASE);
        assertEquals(0x037F, mem.readWord(BASE));
        assertEquals(0x3000, mem.readWord(BASE + 2), "TOP=6");
        assertEquals(0xC0, mem.readByte(BASE + 4), "abridged tags: R6, R7 valid");
        assertEquals(0x1F80, mem.readDword(BASE + 24), "MXCSR");
        assertEquals(0x8000000000000000L, mem.readQword(BASE + 32), "ST0 = 1");
        assertEquals(0x3fff, mem.readWord(BASE + 40));
        assertEquals(0xC90FDAA22168C235L, mem.readQword(BASE + 48), "ST1 = pi");
        fpu.reset();
        fpu.fxrstor(BASE);
        assertEquals(0x8000000000000000L, fpu.st80Significand(0));
        assertEquals(0xC90FDAA22168C235L, fpu.st80Significand(1));
        assertEquals(0x0FFF, fpu.tagWord(), "tags recomputed from contents");
        assertEquals(0x3000, fpu.statusWord());
    }

    @Test
    void partialRemainderSetsC2UntilDone() {
        // ST1 = 3, ST0 = 2^100: FPREM needs several passes
        mem.writeDword(BASE, 3);
        runMem(0xDB, 0, BASE, true, true);
        mem.writeQword(BASE + 16, 0x4630000000000000L); // 2^100 as a double
        runMem(0xDD, 0, BASE + 16, true, true);
        int passes = 0;
        do {
            run(0xD9, 0xF8); // FPREM
            passes++;
        } while ((fpu.statusWord() & 0x400) != 0 && passes < 10);
        assertTrue(passes > 1, "incomplete reduction first");
        // 2^100 mod 3 = 1 (2^even mod 3)
        assertEquals(0x8000000000000000L, fpu.st80Significand(0));
        assertEquals(0x3fff, fpu.st80SignExponent(0));
    }

    @Test
    void faultingStoreLeavesTheStateAsItWas() {
        mem.writeWord(BASE, 0x0C7F); // RC=chop so the store below is inexact (PE)
        runMem(0xD9, 5, BASE, true, true);
        run(0xD9, 0xEB); // FLDPI
        int sw = fpu.statusWord();
        try {
            runMem(0xDF, 3, 0x10, true, true); // FISTP m16 at an unmapped address
        } catch (IndexOutOfBoundsException expected) {
            // the CPU would deliver #PF here
        }
        assertEquals(sw, fpu.statusWord(), "no flags, no pop");
        assertEquals(0xC90FDAA22168C234L, fpu.st80Significand(0), "pi rounded toward zero");
        runMem(0xD9, 6, BASE + 64, true, true); // FNSTENV
        assertEquals(0, mem.readDword(BASE + 64 + 20), "FDP not taken from the faulting instruction");
    }

    @Test
    void everyEncodingOnRandomStatesIsHandledWithoutEscaping() {
        SplittableRandom r = new SplittableRandom(42);
        for (int n = 0; n < 20000; n++) {
            for (int i = 0; i < 512; i += 8) {
                mem.writeQword(BASE + i, r.nextLong());
            }
            if (r.nextInt(4) == 0) {
                runMem(0xDD, 4, BASE, true, true); // FRSTOR garbage
            }
            int op = 0xD8 + r.nextInt(8);
            int modrm = r.nextInt(256);
            int result = fpu.execute(op, modrm, BASE + 512 + r.nextInt(1024), r.nextInt(), r.nextBoolean(), r.nextBoolean(),
                    r.nextInt(), r.nextInt());
            assertTrue(result == FpuUnit.NO_EFLAGS || result == FpuUnit.UNDEFINED || (result & ~0x45) == 0,
                    "result " + result);
            assertEquals(result == FpuUnit.UNDEFINED, !X87.isDefined(op, modrm), String.format("%02x %02x", op, modrm));
            assertTrue(fpu.statusWord() >= 0 && fpu.statusWord() <= 0xffff);
        }
    }
}
