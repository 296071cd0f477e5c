package org.xenj.hypervisor.internal.cpu;

import java.util.Locale;

import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;

/**
 * Quick MIPS figure for the interpreter (not a unit test). Runs a tight loop mixing ALU,
 * loads/stores, a call and conditional branches, through {@link CpuExecutor}, and prints
 * instructions per second after a warm-up.
 *
 * <pre>
 * mvn -B -o -q -pl org.xenj.hypervisor test-compile
 * java -cp org.xenj.hypervisor/target/classes:org.xenj.hypervisor/target/test-classes \
 *      org.xenj.hypervisor.internal.cpu.CpuBench [seconds]
 * </pre>
 */
public final class CpuBench {

    private CpuBench() {
    }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        CpuTestSupport t = new CpuTestSupport();
        t.flat32(0x1000, """
                    mov esi, 0x10000
                    xor ebx, ebx
                outer:
                    mov ecx, 1000
                inner:
                    mov eax, [esi + ecx*4]
                    add eax, ecx
                    xor eax, 0x5a5a
                    mov [esi + ecx*4], eax
                    add ebx, eax
                    shr eax, 3
                    cmp eax, 100
                    jb skip
                    inc edx
                skip:
                    call leaf
                    dec ecx
                    jnz inner
                    jmp outer
                leaf:
                    lea edi, [ebx + edx*2 + 1]
                    ret
                """);
        measure(t, "xenj cpu bench", seconds);
        System.out.printf(Locale.ROOT, "block cache %s: %d blocks from cache, %d decoded%n", CpuBlocks.ENABLED ? "on" : "off",
                t.cpu.blockHits, t.cpu.blockBuilds);
        String jit = t.cpu.jitStatistics();
        System.out.println(jit == null ? "translator off (-Dxenj.jit=false)" : jit);
    }

    /**
     * Runs the code loaded in {@code t} through {@link CpuExecutor} for a 2 s warm-up, then for
     * {@code seconds}, and prints instructions per second (wall and CPU time) under {@code label}.
     */
    static void measure(CpuTestSupport t, String label, double seconds) {
        CpuExecutor ex = new CpuExecutor(t.cpu, t.env, System.err::println);
        runFor(ex, 2.0); // warm-up: let HotSpot compile the interpreter
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long i0 = ex.instructionCount();
        long t0 = System.nanoTime();
        long c0 = threads.getCurrentThreadCpuTime();
        runFor(ex, seconds);
        long dt = System.nanoTime() - t0;
        long dc = threads.getCurrentThreadCpuTime() - c0;
        long n = ex.instructionCount() - i0;
        // CPU-time MIPS is the figure to compare on a shared machine; wall-clock MIPS is what a guest sees
        System.out.printf(Locale.ROOT, "%s: %d instructions in %.2f s = %.1f MIPS (%.1f MIPS per CPU-second)%n", label, n,
                dt / 1e9, n * 1e3 / dt, n * 1e3 / dc);
    }

    private static void runFor(CpuExecutor ex, double seconds) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            RunExit r = ex.run(Math.min(end, System.nanoTime() + 30_000_000L));
            if (r != RunExit.PREEMPTED) {
                throw new IllegalStateException("bench loop stopped: " + r);
            }
        }
    }
}
