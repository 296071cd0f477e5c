package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;

/**
 * Pause-loop exiting ({@code CpuExec.pause}): a vCPU of an SMP domain spinning on a lock word with
 * PAUSE, as Linux's spinlocks do, gives its thread up after {@link CpuExec#PAUSE_LOOP_EXIT} PAUSEs
 * (the run ends with {@link RunExit#YIELD}, long before its deadline), and runs on correctly when
 * run again: the spin ends once the other vCPU's store releases it. A single-vCPU domain is never
 * yielded for PAUSEs (no other vCPU can hold its locks): its run ends at the deadline.
 */
class PauseLoopExitTest {

    static final int LOCK = SmpAtomicityTest.DATA;
    static final String SPIN = "spin: pause\n cmp dword [" + LOCK + "], 0\n jne spin\n mov eax, 0x600d\n hlt\n";

    @ParameterizedTest(name = "jit={0}")
    @ValueSource(booleans = {false, true})
    void aSpinningSmpVcpuYieldsAndGoesOnWhenTheLockIsFree(boolean jit) throws Exception {
        Cpu[] cpus = SmpAtomicityTest.twoVcpus(jit);
        Cpu cpu = cpus[0];
        byte[] bin = CpuTestSupport.asm("bits 32\norg " + SmpAtomicityTest.CODE0 + "\n" + SPIN);
        SmpAtomicityTest.memOf(cpu).write(SmpAtomicityTest.CODE0, bin, 0, bin.length);
        SmpAtomicityTest.memOf(cpu).write(LOCK, new byte[] {1, 0, 0, 0}, 0, 4);
        cpu.enterFlatProtectedMode32(0);
        cpu.setEip(SmpAtomicityTest.CODE0);
        CpuExecutor ex = new CpuExecutor(cpu, new CpuTestSupport.TestEnv(), s -> { });
        long deadline = System.nanoTime() + 60_000_000_000L;
        for (int k = 1; k <= 3; k++) {
            long before = cpu.instructionCount();
            assertEquals(RunExit.YIELD, ex.run(deadline), "run " + k + " of a spinning vCPU ends in a yield");
            long ran = cpu.instructionCount() - before;
            // 3 instructions per iteration (pause, cmp, jne): the window's PAUSEs, and at most one executor block more
            assertTrue(ran >= 3L * (CpuExec.PAUSE_LOOP_EXIT - 1) && ran <= 3L * CpuExec.PAUSE_LOOP_EXIT + CpuExecutor.BLOCK,
                    "run " + k + " ran " + ran + " instructions");
            assertEquals(k, cpu.pauseExits);
        }
        // the other vCPU releases the lock: the spin ends
        SmpAtomicityTest.memOf(cpu).write(LOCK, new byte[] {0, 0, 0, 0}, 0, 4);
        RunExit last = ex.run(System.nanoTime() + 5_000_000_000L);
        assertEquals(RunExit.BLOCKED, last, "HLT after the spin");
        assertEquals(0x600d, cpu.getReg32(Cpu.EAX));
        assertTrue(cpu.blockCacheStatistics().contains("pauseExits=3"), cpu.blockCacheStatistics());
    }

    @ParameterizedTest(name = "jit={0}")
    @ValueSource(booleans = {false, true})
    void aSingleVcpuDomainSpinsUntilItsDeadline(boolean jit) throws Exception {
        CpuTestSupport t = new CpuTestSupport();
        t.cpu.setTranslator(jit);
        t.flat32(SmpAtomicityTest.CODE0, SPIN);
        t.load(LOCK, new byte[] {1, 0, 0, 0});
        CpuExecutor ex = new CpuExecutor(t.cpu, t.env, s -> { });
        // runs of 10 ms until it has spun well past the window (how many runs depends on the host's speed)
        for (int k = 0; k < 1000 && t.cpu.pauses <= 2L * CpuExec.PAUSE_LOOP_EXIT; k++) {
            long start = System.nanoTime();
            assertEquals(RunExit.PREEMPTED, ex.run(start + 10_000_000L), "a run of a single-vCPU domain ends at its deadline");
            assertTrue(System.nanoTime() - start >= 10_000_000L, "ran to the deadline");
        }
        assertTrue(t.cpu.pauses > 2L * CpuExec.PAUSE_LOOP_EXIT, "pauses: " + t.cpu.pauses);
        assertEquals(0, t.cpu.pauseExits);
    }
}
