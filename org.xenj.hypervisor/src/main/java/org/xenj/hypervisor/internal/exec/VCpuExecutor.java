package org.xenj.hypervisor.internal.exec;

/**
 * What runs a vCPU's guest code on a pCPU thread: the IA-32 CPU for HVM/PV guests, or the
 * built-in workload. The scheduling core knows nothing else about how a vCPU executes.
 *
 * <p>Threading: {@link #run} is called by one pCPU thread at a time (the scheduler never runs a
 * vCPU twice at once). {@link #requestExit} may be called from any thread.
 */
public interface VCpuExecutor {

    /**
     * Executes until {@code deadlineNanos} (a {@link System#nanoTime()} value) passes, the vCPU
     * blocks (HLT / SCHEDOP_block with nothing pending), yields, shuts down, or
     * {@link #requestExit} is called. Checks the deadline and exit flag at block boundaries, not
     * per instruction. Never throws: guest faults are the guest's, hypervisor bugs crash the domain
     * ({@link RunExit#CRASH}).
     */
    RunExit run(long deadlineNanos);

    /** Makes a running {@link #run} return at its next check. Sticky until run() observes it. */
    void requestExit();

    /**
     * Whether something (interrupt, event, timer already due) is pending that must make a blocked
     * vCPU runnable. The scheduler core asks after {@link RunExit#BLOCKED}, to close the race with a
     * wake-up that came just before the vCPU blocked.
     */
    boolean wakeupPending();

    /** A multi-line dump for {@code xl debug-keys d}; read without stopping the vCPU. */
    default String debugState() {
        return "(no register dump for this kind of vCPU)";
    }

    /** Why {@link #run} returned. */
    enum RunExit {
        /** Deadline passed or exit requested: still runnable. */
        PREEMPTED,
        /** Voluntary yield: still runnable. */
        YIELD,
        /** Halted / blocked until woken through {@link VCpuWaker#wake()}. */
        BLOCKED,
        /** The domain asked to shut down ({@code poweroff}, SCHEDOP_shutdown); reason recorded by the executor's host. */
        SHUTDOWN,
        /** Triple fault or an internal error: the domain crashes (on_crash). */
        CRASH
    }
}
