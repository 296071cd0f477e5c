package org.xenj.hypervisor.internal.workload;

import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.HostTimer;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuWaker;

/**
 * The synthetic guest code of a WORKLOAD vCPU, driven through the same {@link VCpuExecutor}
 * interface as the IA-32 CPU. {@code spin} burns CPU in small work units (a few microseconds
 * each) between checks of its deadline and exit flag; {@code idle} blocks and stays blocked;
 * {@code duty:p} runs p% of each 10 ms period and blocks the rest, woken by a host timer.
 */
public final class WorkloadExecutor implements VCpuExecutor {

    static final long PERIOD_NANOS = 10_000_000L;
    /** Iterations of the mixing loop per work unit: about 1-3 us on a current core. */
    private static final int UNIT_ITERATIONS = 2000;

    private final WorkloadSpec spec;
    private final GuestContext context;
    private final int vcpu;
    private volatile boolean exitRequested;
    private volatile boolean shutdownRequested;
    private volatile long workUnits;
    private volatile long runNanos;
    private volatile long blocks;
    /** Results of the mixing loop, kept so that the JIT cannot drop it. */
    private long sink;

    // duty-cycle state, touched only by the executing pCPU (and the timer via wakeAt)
    private boolean periodStarted;
    private long periodStart;
    private long usedInPeriod;
    private volatile long blockedUntil;
    private HostTimer.Handle timer;

    WorkloadExecutor(WorkloadSpec spec, GuestContext context, int vcpu) {
        this.spec = spec;
        this.context = context;
        this.vcpu = vcpu;
    }

    @Override
    public RunExit run(long deadlineNanos) {
        if (shutdownRequested) {
            return RunExit.SHUTDOWN;
        }
        long start = System.nanoTime();
        try {
            return switch (spec.kind()) {
                case IDLE -> RunExit.BLOCKED;
                case SPIN -> spin(start, deadlineNanos, false, 0);
                case DUTY -> duty(start, deadlineNanos);
            };
        } finally {
            runNanos += System.nanoTime() - start;
        }
    }

    private RunExit spin(long now, long deadline, boolean budgeted, long budgetEnd) {
        long units = 0;
        long s = sink;
        RunExit exit = RunExit.PREEMPTED;
        while (true) {
            if (exitRequested) {
                exitRequested = false;
                break;
            }
            if (shutdownRequested) {
                exit = RunExit.SHUTDOWN;
                break;
            }
            if (now - deadline >= 0) {
                break;
            }
            if (budgeted && now - budgetEnd >= 0) {
                exit = RunExit.BLOCKED;
                break;
            }
            for (int i = 0; i < UNIT_ITERATIONS; i++) {
                s = s * 6364136223846793005L + 1442695040888963407L;
            }
            units++;
            now = System.nanoTime();
        }
        sink = s;
        workUnits += units;
        return exit;
    }

    private RunExit duty(long now, long deadline) {
        if (!periodStarted) {
            periodStarted = true;
            periodStart = now;
            usedInPeriod = 0;
        } else if (now - periodStart >= PERIOD_NANOS) {
            periodStart += (now - periodStart) / PERIOD_NANOS * PERIOD_NANOS;
            usedInPeriod = 0;
        }
        long budget = spec.dutyPercent() * PERIOD_NANOS / 100 - usedInPeriod;
        if (budget <= 0) {
            return blockUntil(periodStart + PERIOD_NANOS);
        }
        RunExit exit = spin(now, deadline, true, now + budget);
        usedInPeriod += System.nanoTime() - now;
        if (exit == RunExit.BLOCKED) {
            return blockUntil(periodStart + PERIOD_NANOS);
        }
        return exit;
    }

    private RunExit blockUntil(long wakeAt) {
        blockedUntil = wakeAt;
        blocks++;
        HostTimer.Handle old = timer;
        if (old != null) {
            old.cancel();
        }
        VCpuWaker waker = context.waker(vcpu);
        timer = context.schedule(wakeAt, waker::wake);
        return RunExit.BLOCKED;
    }

    @Override
    public void requestExit() {
        exitRequested = true;
    }

    @Override
    public boolean wakeupPending() {
        return spec.kind() == WorkloadSpec.Kind.DUTY && System.nanoTime() - blockedUntil >= 0;
    }

    /** The guest "powers off" at its next check (a shutdown request reached it). */
    void requestShutdown() {
        shutdownRequested = true;
        exitRequested = true;
    }

    void cancelTimer() {
        HostTimer.Handle t = timer;
        if (t != null) {
            t.cancel();
        }
    }

    /** Work units done so far (a unit is a fixed amount of computation). */
    public long workUnits() {
        return workUnits;
    }

    /** How often a duty-cycle vCPU blocked waiting for its next period. */
    public long blocks() {
        return blocks;
    }

    /** Time spent inside {@link #run}, as the workload measured it. */
    public long runNanos() {
        return runNanos;
    }
}
