package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;

/**
 * Random code in every mode must never make the CPU throw out of the executor or report an
 * internal error: only guest-visible outcomes (exceptions, triple fault = CRASH, HLT) are allowed.
 */
class FuzzTest {

    private static final int ROUNDS = Integer.getInteger("xenj.fuzz.rounds", 150);

    @Test
    void randomCodeNeverBreaksTheHypervisor() {
        List<String> internalErrors = new ArrayList<>();
        SplittableRandom seeds = new SplittableRandom(0x5eed);
        for (int round = 0; round < ROUNDS; round++) {
            long seed = seeds.nextLong();
            SplittableRandom r = new SplittableRandom(seed);
            CpuTestSupport t = new CpuTestSupport(2);
            byte[] junk = new byte[2 << 20];
            r.nextBytes(junk);
            t.load(0, junk);
            Cpu cpu = t.cpu;
            if (round % 4 == 3) {
                simdRound(t, r, junk);
                continue;
            }
            switch (round % 3) {
                case 0 -> {
                    cpu.loadSegment(Cpu.CS, r.nextInt(0x2000));
                    cpu.setEip(r.nextInt(0x10000));
                }
                case 1 -> {
                    cpu.enterFlatProtectedMode32(0);
                    cpu.setGdtr(r.nextInt(1 << 20), 0xffff);
                    cpu.setIdtr(r.nextInt(1 << 20), 0x7ff);
                    cpu.setEip(r.nextInt(2 << 20));
                }
                default -> {
                    cpu.enterFlatProtectedMode32(3);
                    cpu.setEip(r.nextInt(2 << 20));
                }
            }
            for (int i = 0; i < 8; i++) {
                cpu.setReg32(i, r.nextInt());
            }
            List<String> log = new ArrayList<>();
            CpuExecutor ex = new CpuExecutor(cpu, t.env, log::add);
            for (int slice = 0; slice < 20; slice++) {
                if (r.nextInt(4) == 0) {
                    t.env.irqs.add(r.nextInt(256));
                }
                RunExit exit = ex.run(System.nanoTime() + 1_000_000L);
                if (exit == RunExit.CRASH || exit == RunExit.BLOCKED) {
                    break;
                }
            }
            for (String s : log) {
                if (s.contains("internal error")) {
                    internalErrors.add("seed " + seed + ": " + s);
                }
            }
        }
        assertFalse(!internalErrors.isEmpty(), () -> internalErrors.size() + " internal errors, first: " + internalErrors.get(0));
        assertTrue(simdInstructions > 10_000, "the SIMD rounds ran " + simdInstructions + " instructions");
    }

    private long simdInstructions;

    /** The MMX/SSE/SSE2 opcode space (0F 10-17, 28-2F, 50-7F, AE, C2-C6, D0-FF) under random prefixes and MXCSR. */
    private static final int[] SIMD_OPS;

    static {
        List<Integer> ops = new ArrayList<>();
        for (int b = 0x10; b <= 0xff; b++) {
            if (b <= 0x17 || b >= 0x28 && b <= 0x2f || b >= 0x50 && b <= 0x7f || b == 0xae || b >= 0xc2 && b <= 0xc6 || b >= 0xd0) {
                ops.add(b);
            }
        }
        SIMD_OPS = ops.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Code made of random MMX/SSE/SSE2 instructions (random prefixes 66/F2/F3/F0, ModRM, SIB,
     * displacement and immediate bytes) with the x87 unit attached, CR4.OSFXSR/OSXMMEXCPT in random
     * combinations with CR0.EM/TS, and a random MXCSR: every outcome must be a guest exception.
     */
    private void simdRound(CpuTestSupport t, SplittableRandom r, byte[] junk) {
        Cpu cpu = t.cpu;
        cpu.setFpu(new org.xenj.hypervisor.internal.cpu.fpu.X87(cpu.fpuMemory()));
        int p = 0x1000;
        List<Integer> starts = new ArrayList<>();
        while (p < 0x40000) {
            starts.add(p);
            if (r.nextInt(3) == 0) {
                junk[p++] = (byte) new int[] {0x66, 0xf2, 0xf3, 0xf0}[r.nextInt(4)];
            }
            junk[p++] = 0x0f;
            junk[p++] = (byte) SIMD_OPS[r.nextInt(SIMD_OPS.length)];
            int mod = r.nextInt(4);
            junk[p++] = (byte) (mod << 6 | r.nextInt(64));
            p += r.nextInt(6); // SIB, displacement, immediate: the random bytes already there
        }
        t.load(0, junk);
        cpu.enterFlatProtectedMode32(r.nextInt(4) == 0 ? 3 : 0);
        int cr4 = r.nextInt(8) == 0 ? 0 : Cpu.CR4_OSFXSR | (r.nextBoolean() ? Cpu.CR4_OSXMMEXCPT : 0);
        cpu.setCr(4, cr4);
        if (r.nextInt(8) == 0) {
            cpu.setCr(0, cpu.getCr(0) | (r.nextBoolean() ? Cpu.CR0_TS : Cpu.CR0_EM));
        }
        cpu.setMxcsr(r.nextInt(0x10000));
        for (int i = 0; i < 16; i++) {
            cpu.setXmm(i / 2, i & 1, r.nextLong());
        }
        for (int i = 0; i < 8; i++) {
            cpu.setReg32(i, r.nextInt(4) == 0 ? r.nextInt() : r.nextInt(1 << 20));
        }
        // run through the stream; after each exception go on at the next generated instruction
        int next = 0;
        cpu.setEip(0x1000);
        for (int step = 0; step < 20_000 && next < starts.size(); step++) {
            long before = cpu.instructionCount();
            int v;
            try {
                v = cpu.runTest(50_000);
            } catch (RuntimeException e) {
                throw new AssertionError("internal error in a SIMD round at " + Integer.toHexString(cpu.getEip()) + ": " + e, e);
            }
            simdInstructions += cpu.instructionCount() - before + 1;
            if (v == -2) {
                break;
            }
            int eip = cpu.getEip();
            while (next < starts.size() && starts.get(next) <= eip) {
                next++;
            }
            if (next < starts.size()) {
                cpu.setEip(starts.get(next));
            }
        }
    }
}
