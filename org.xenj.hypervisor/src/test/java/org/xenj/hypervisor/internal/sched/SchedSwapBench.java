package org.xenj.hypervisor.internal.sched;

import java.util.Arrays;
import java.util.List;

import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hypervisor.internal.testsched.FairShareSchedulerType;
import org.xenj.hypervisor.internal.testsched.FifoSchedulerType;
import org.xenj.hypervisor.internal.testsched.ProtocolChecker;
import org.xenj.hypervisor.internal.testsupport.ProbeExecutor;
import org.xenj.hypervisor.internal.testsupport.ProbeGuestBuilder;

/**
 * Benchmark of live scheduler hot-swaps under load (run by {@code bench/sched-swap.sh}).
 *
 * <p>Two spin domains with one vCPU per pCPU each load every pCPU; the pool's scheduler is
 * swapped between two different test policies {@code swaps} times. The stall of a swap is, for
 * each pCPU, the gap between the end of the run in progress when the swap began and the start
 * of the next run on that pCPU (the first decision that must wait for, or come from, the new
 * policy), maximised over the pCPUs. The same measure taken half-way between swaps
 * ({@code no_swap_gap_us}) shows what ordinary scheduling and the host's load cost without a
 * swap. {@code lost} counts vCPUs that did not run within 1 s
 * after some swap or after the last; {@code double} counts concurrent runs of one vCPU.
 *
 * <p>Arguments: {@code [swaps] [pcpus] [interval_us]}.
 */
public final class SchedSwapBench {

    private SchedSwapBench() {
    }

    public static void main(String[] args) throws Exception {
        int swaps = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int pcpus = args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
        long intervalUs = args.length > 2 ? Long.parseLong(args[2]) : 5000;
        ProtocolChecker checker = new ProtocolChecker();
        Plugins plugins = new Plugins();
        ProbeGuestBuilder probes = new ProbeGuestBuilder(DomainType.WORKLOAD, 0, 0, 1 << 20);
        plugins.addBuilder(probes);
        plugins.addScheduler(new FifoSchedulerType("fifo", checker, 1000));
        plugins.addScheduler(new FairShareSchedulerType("fair", checker, 1000));
        long doubleBefore = ProbeExecutor.DOUBLE_RUNS.get();
        try (HypervisorCore hv = new HypervisorCore(CoreConfig.parse("256M", pcpus, "16M", "fifo"), plugins)) {
            for (int i = 0; i < 2; i++) {
                hv.create(DomainConfig.builder("spin" + i).type(DomainType.WORKLOAD).memoryMiB(4).vcpus(pcpus).build());
            }
            Thread.sleep(300); // warm up (JIT, all vCPUs running)
            long[] t0 = new long[swaps];
            long[] held = new long[swaps];
            for (int i = 0; i < swaps; i++) {
                t0[i] = System.nanoTime();
                hv.cpupools().setScheduler(CpuPools.DEFAULT_POOL, i % 2 == 0 ? "fair" : "fifo");
                held[i] = hv.poolManager().lastSwap().lockHeldNanos();
                sleepMicros(intervalUs);
            }
            long last = System.nanoTime();
            Thread.sleep(1100);
            long lost = 0;
            for (ProbeExecutor e : probes.executors) {
                int k = 0;
                boolean missing = false;
                for (long t : t0) {
                    while (k < e.recorded() && e.start(k) < t) {
                        k++;
                    }
                    missing |= k >= e.recorded() || e.start(k) - t > 1_000_000_000L;
                }
                if (missing || e.recorded() == 0 || e.start(e.recorded() - 1) < last) {
                    lost++;
                }
            }
            if (Boolean.getBoolean("bench.debug")) {
                debugGaps(probes.executors, pcpus);
            }
            double[] stalls = new double[swaps];
            double[] baseline = new double[swaps - 1];
            for (int i = 0; i < swaps; i++) {
                stalls[i] = stallNanos(probes.executors, pcpus, t0[i]) / 1000.0;
                if (i + 1 < swaps) {
                    // the same measure half-way between two swaps: what the host and ordinary scheduling cost
                    baseline[i] = stallNanos(probes.executors, pcpus, (t0[i] + t0[i + 1]) >>> 1) / 1000.0;
                }
            }
            Arrays.sort(stalls);
            Arrays.sort(baseline);
            Arrays.sort(held);
            long dbl = ProbeExecutor.DOUBLE_RUNS.get() - doubleBefore;
            System.out.printf("swap_stall_us p90=%.1f p99=%.1f host_cores=%d host_loadavg=%s (a loaded host deschedules pCPU threads)%n",
                    stalls[swaps * 9 / 10], stalls[swaps * 99 / 100], Runtime.getRuntime().availableProcessors(), loadAverage());
            System.out.printf("no_swap_gap_us median=%.1f p90=%.1f max=%.1f (same measure half-way between swaps)%n",
                    baseline[baseline.length / 2], baseline[baseline.length * 9 / 10], baseline[baseline.length - 1]);
            System.out.printf("swap_lock_held_us median=%.1f max=%.1f%n", held[swaps / 2] / 1000.0, held[swaps - 1] / 1000.0);
            System.out.printf("protocol_violations=%d policy_faults=%d%n", checker.violations(), hv.scheduling().pcpu(0).pool().policyFaults());
            System.out.printf("swap_stall_us median=%.1f max=%.1f swaps=%d lost=%d double=%d%n", stalls[swaps / 2], stalls[swaps - 1],
                    swaps, lost, dbl);
        }
    }

    /** Max over pCPUs of the first dispatch gap at or after {@code t}. */
    private static long stallNanos(List<ProbeExecutor> executors, int pcpus, long t) {
        long worst = 0;
        for (int c = 0; c < pcpus; c++) {
            // runs on pCPU c: the one that ended last before the first start after t, and that start
            long nextStart = Long.MAX_VALUE;
            for (ProbeExecutor e : executors) {
                for (int i = firstAtOrAfter(e, t); i < e.recorded(); i++) {
                    if (e.pcpu(i) == c) {
                        nextStart = Math.min(nextStart, e.start(i));
                        break;
                    }
                }
            }
            if (nextStart == Long.MAX_VALUE) {
                continue;
            }
            // the run on pCPU c just before it: for each vCPU, its latest run on c that started earlier
            long prevEnd = Long.MIN_VALUE;
            for (ProbeExecutor e : executors) {
                for (int i = firstAtOrAfter(e, nextStart) - 1; i >= 0; i--) {
                    if (e.pcpu(i) == c) {
                        prevEnd = Math.max(prevEnd, Math.min(e.end(i), nextStart));
                        break;
                    }
                }
            }
            if (prevEnd != Long.MIN_VALUE) {
                worst = Math.max(worst, nextStart - prevEnd);
            }
        }
        return worst;
    }

    private static void debugGaps(List<ProbeExecutor> executors, int pcpus) {
        for (int c = 0; c < pcpus; c++) {
            java.util.List<long[]> runs = new java.util.ArrayList<>();
            for (ProbeExecutor e : executors) {
                for (int i = 0; i < e.recorded(); i++) {
                    if (e.pcpu(i) == c) {
                        runs.add(new long[] {e.start(i), e.end(i)});
                    }
                }
            }
            runs.sort((a, b) -> Long.compare(a[0], b[0]));
            long busy = 0;
            long maxGap = 0;
            long[] gaps = new long[runs.size()];
            for (int i = 0; i < runs.size(); i++) {
                busy += runs.get(i)[1] - runs.get(i)[0];
                if (i > 0) {
                    gaps[i] = runs.get(i)[0] - runs.get(i - 1)[1];
                    maxGap = Math.max(maxGap, gaps[i]);
                }
            }
            Arrays.sort(gaps);
            long span = runs.get(runs.size() - 1)[1] - runs.get(0)[0];
            System.out.printf("pcpu %d: runs=%d busy=%.1f%% median run=%.1fus gap median=%.1fus p99=%.1fus max=%.1fus%n", c, runs.size(),
                    100.0 * busy / span, (double) span / runs.size() / 1000, gaps[gaps.length / 2] / 1000.0, gaps[gaps.length * 99 / 100] / 1000.0, maxGap / 1000.0);
        }
    }

    private static int firstAtOrAfter(ProbeExecutor e, long t) {
        int lo = 0;
        int hi = e.recorded();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (e.start(mid) < t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ")[0];
        } catch (java.io.IOException | RuntimeException e) {
            return "?";
        }
    }

    private static void sleepMicros(long us) throws InterruptedException {
        Thread.sleep(us / 1000, (int) (us % 1000) * 1000);
    }

}
