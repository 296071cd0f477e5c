package org.xenj.hypervisor.internal.testsched;

import java.util.concurrent.atomic.AtomicLong;

/** Counts calls that break the SchedulerInstance protocol as the core promises it. */
public final class ProtocolChecker {

    private final AtomicLong violations = new AtomicLong();
    private volatile String first;

    public void violation(String what) {
        if (violations.getAndIncrement() == 0) {
            first = what;
        }
    }

    public long violations() {
        return violations.get();
    }

    public String first() {
        return first;
    }
}
