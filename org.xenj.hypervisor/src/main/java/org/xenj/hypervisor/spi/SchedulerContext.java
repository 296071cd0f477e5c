package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ProviderType;

/** What a scheduler instance may ask of its pool. */
@ProviderType
public interface SchedulerContext {

    String poolName();

    /** The pCPUs of the pool (a copy). */
    int[] pcpus();

    /** Monotonic time in nanoseconds, the clock every scheduler call is stamped with. */
    long nowNanos();

    /**
     * Asks {@code pcpu} to call {@link SchedulerInstance#schedule} again soon (e.g. a vCPU of higher
     * priority woke, or an idle pCPU should steal work). Safe under the scheduling lock.
     */
    void kick(int pcpu);

    /** Logs to the hypervisor's dmesg ring. */
    void log(String message);
}
