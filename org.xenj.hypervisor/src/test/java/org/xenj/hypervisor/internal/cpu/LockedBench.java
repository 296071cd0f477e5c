package org.xenj.hypervisor.internal.cpu;

import java.util.Locale;

import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;

/**
 * CpuBench's loop with locked instructions in it (one vCPU: the single-vCPU cost of the locked
 * path; not a unit test). Per iteration of the inner loop: LOCK ADD, XCHG with memory, LOCK
 * CMPXCHG, LOCK BTS among ten plain instructions.
 *
 * <pre>
 * java -cp org.xenj.hypervisor/target/classes:org.xenj.hypervisor/target/test-classes:asm.jar \
 *      org.xenj.hypervisor.internal.cpu.LockedBench [seconds]
 * </pre>
 */
public final class LockedBench {

    private LockedBench() {
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
                    lock add [esi + 8000], eax
                    xchg [esi + 8004], eax
                    mov [esi + ecx*4], eax
                    add ebx, eax
                    mov eax, [esi + 8008]
                    lea edx, [eax + 1]
                    lock cmpxchg [esi + 8008], edx
                    lock bts dword [esi + 8012], 3
                    dec ecx
                    jnz inner
                    jmp outer
                """);
        CpuExecutor ex = new CpuExecutor(t.cpu, t.env, System.err::println);
        runFor(ex, 2.0);
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long i0 = ex.instructionCount();
        long t0 = System.nanoTime();
        long c0 = threads.getCurrentThreadCpuTime();
        runFor(ex, seconds);
        long dt = System.nanoTime() - t0;
        long dc = threads.getCurrentThreadCpuTime() - c0;
        long n = ex.instructionCount() - i0;
        System.out.printf(Locale.ROOT, "xenj locked bench: %d instructions in %.2f s = %.1f MIPS (%.1f MIPS per CPU-second)%n", n,
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
