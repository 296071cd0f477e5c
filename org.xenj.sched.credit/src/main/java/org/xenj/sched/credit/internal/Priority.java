package org.xenj.sched.credit.internal;

/** Xen credit priorities: a higher number runs first. */
final class Priority {

    /** Woke up with credit left: runs ahead of everyone for at most one tick. */
    static final int BOOST = 0;
    /** Has credit left. */
    static final int UNDER = -1;
    /** Used up its credit: runs only when no UNDER/BOOST work is around. */
    static final int OVER = -2;
    /** Nothing to run (the idle "vCPU" of Xen). */
    static final int IDLE = -64;

    private Priority() {
    }

    static String name(int priority) {
        return switch (priority) {
            case BOOST -> "BOOST";
            case UNDER -> "UNDER";
            case OVER -> "OVER";
            default -> "IDLE";
        };
    }
}
