package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertFalse;

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
    }
}
