package org.xenj.hypervisor.internal.exec;

/** Host-side one-shot timers (one thread for the whole hypervisor). */
public interface HostTimer {

    Handle schedule(long deadlineNanos, Runnable task);

    /** A scheduled task; cancel is idempotent. */
    interface Handle {
        void cancel();
    }
}
