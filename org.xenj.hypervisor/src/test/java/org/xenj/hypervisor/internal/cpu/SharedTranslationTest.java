package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The translator's code cache is one per domain: a function vCPU 0 ran (and so compiled) is not
 * compiled again when vCPU 1 runs it; vCPU 1 takes vCPU 0's compiled blocks from the cache. Both
 * compute the same result. With {@code xenj.jit.sharedcode=false} (a cache per vCPU, as before)
 * vCPU 1 compiles the function's blocks itself, which is what makes the comparison able to fail.
 * vCPU 1 starts only after vCPU 0 has halted (an AP starts late too).
 */
class SharedTranslationTest {

    static final int FLAG = SmpAtomicityTest.DATA + 0x100;
    static final int FN = SmpAtomicityTest.CODE0 + 0x1000;
    static final int CALLS = 50;
    /** fn returns eax + 100 + 99 + … + 1; CALLS calls from eax = 0. */
    static final int SUM = CALLS * 5050;

    /** Runs the shared function on vCPU 0, then on vCPU 1; returns vCPU 1's compilations. */
    private static long[] run(boolean shared) throws Exception {
        String old = System.getProperty("xenj.jit.sharedcode");
        System.setProperty("xenj.jit.sharedcode", Boolean.toString(shared));
        Cpu[] cpus;
        try {
            cpus = SmpAtomicityTest.twoVcpus(true);
        } finally {
            if (old == null) {
                System.clearProperty("xenj.jit.sharedcode");
            } else {
                System.setProperty("xenj.jit.sharedcode", old);
            }
        }
        if (shared) {
            assertSame(cpus[0].jit.codeCache, cpus[1].jit.codeCache, "one code cache for the domain");
        } else {
            assertNotSame(cpus[0].jit.codeCache, cpus[1].jit.codeCache, "a code cache per vCPU");
        }
        String fn = "times 0x1000 - ($ - $$) db 0x90\n"
                + "fn:\n mov ecx, 100\n l: add eax, ecx\n dec ecx\n jnz l\n ret\n";
        String caller = "xor eax, eax\n mov edi, " + CALLS + "\n again: mov ebx, " + FN + "\n call ebx\n dec edi\n jnz again\n";
        // vCPU 0 runs fn first (compiling it), then lets vCPU 1 go
        String code0 = caller + " mov dword [" + FLAG + "], 1\n hlt\n" + fn;
        String code1 = "spin: cmp dword [" + FLAG + "], 1\n jne spin\n" + caller + " hlt\n";
        // one after the other, vCPU 1 starting only when vCPU 0 has halted: a late start (as an AP's at
        // its STARTUP IPI) once cleared the domain's cache of vCPU 0's blocks (the first CI run of this test)
        String[] code = {code0, code1};
        int[] org = {SmpAtomicityTest.CODE0, SmpAtomicityTest.CODE1};
        for (int i = 0; i < 2; i++) {
            byte[] bin = CpuTestSupport.asm("bits 32\norg " + org[i] + "\n" + code[i] + "\n");
            SmpAtomicityTest.memOf(cpus[0]).write(org[i], bin, 0, bin.length);
            cpus[i].enterFlatProtectedMode32(0);
            cpus[i].setEip(org[i]);
            cpus[i].setReg32(Cpu.ESP, 0x80000 + i * 0x10000);
        }
        for (int i = 0; i < 2; i++) {
            assertEquals(-1, cpus[i].runTest(10_000_000), "vCPU " + i + " halts: " + cpus[i].stateString());
        }
        assertEquals(SUM, cpus[0].getReg32(Cpu.EAX), "vCPU 0's sum");
        assertEquals(SUM, cpus[1].getReg32(Cpu.EAX), "vCPU 1's sum");
        System.out.printf("[shared-jit] shared=%s vCPU0: %s%n vCPU1: %s%n", shared, cpus[0].jitStatistics(), cpus[1].jitStatistics());
        return new long[] {cpus[1].jit.compilations(), cpus[1].jit.codeCache.reattached()};
    }

    @Test
    void aFunctionOneVcpuCompiledIsNotCompiledAgainByTheOther() throws Exception {
        long[] shared = run(true), own = run(false);
        // fn's blocks: mov ecx; the loop body (add/dec/jnz); ret — vCPU 1 compiles them only with a cache of its own
        assertTrue(own[0] - shared[0] >= 2, "vCPU 1 compiled " + shared[0] + " blocks sharing the cache, " + own[0]
                + " with its own");
        assertTrue(shared[1] >= 2, "blocks reattached from the shared cache: " + shared[1]);
    }
}
