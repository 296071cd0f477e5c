package org.xenj.hypervisor.internal.domain;

import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.xenstore.XenStore;

/**
 * The toolstack's side of Xen's suspend protocol for PVHVM guests, as libxl drives it: write
 * {@code control/shutdown = "suspend"} in the guest's xenstore home, wait for the guest to take
 * the request (Linux's manage.c clears the node), then for its {@code SCHEDOP_shutdown(SHUTDOWN_suspend)}
 * (frontends suspended, vCPUs stopped inside the hypercall). A guest that does not take the
 * request in time gets it withdrawn and runs on; one that took it but never suspends is reported.
 * {@link #resumeCancelled} ends a suspend in the same domain: the hypercall returns 1 and the
 * guest carries on with what it had (Xen's "cancelled suspend").
 */
final class PvhvmSuspend {

    /** How long the guest has to take the request (libxl waits about as long). */
    static final long ACK_MILLIS = Long.getLong("xenj.suspend.ackMillis", 5_000);
    /** How long a guest that took the request has to freeze its tasks and devices and suspend. */
    static final long SUSPEND_MILLIS = Long.getLong("xenj.suspend.timeoutMillis", 60_000);

    /** What a suspend took: request to acknowledgement, request to suspended. */
    record Timing(long ackNanos, long suspendedNanos) {
    }

    private final HypervisorCore core;
    /** This core's timeouts (tests shorten them). */
    volatile long ackMillis = ACK_MILLIS, suspendMillis = SUSPEND_MILLIS;

    PvhvmSuspend(HypervisorCore core) {
        this.core = core;
    }

    static String node(int domid) {
        return XenStore.domainPath(domid) + "/control/shutdown";
    }

    /** Asks the guest to suspend and waits until it has; throws with the reason otherwise, the guest running on. */
    Timing suspend(DomainImpl d, long ackMillis, long suspendMillis) {
        if (d.userPaused) {
            throw new HypervisorException("it is paused: a PVHVM guest suspends itself, so it must run (xen:unpause it first)");
        }
        XenStore store = core.xen().store;
        String node = node(d.id);
        d.suspendWanted = true;
        long t0 = System.nanoTime();
        long acked = -1;
        boolean done = false;
        store.write(0, node, "suspend");
        core.log("d" + d.id + " (" + d.name + "): suspend requested (" + node + " = suspend)");
        try {
            while (true) {
                long now = System.nanoTime();
                if (suspended(d)) {
                    done = true;
                    long ack = acked < 0 ? now - t0 : acked - t0;
                    core.log(String.format("d%d (%s) suspended itself through Xen's protocol: request taken after %.1f ms, suspended after %.1f ms",
                            d.id, d.name, ack / 1e6, (now - t0) / 1e6));
                    return new Timing(ack, now - t0);
                }
                if (d.phase != DomainImpl.Phase.LIVE && d.shutdownReason != ShutdownReason.SUSPEND || d.phase == DomainImpl.Phase.DYING
                        || d.phase == DomainImpl.Phase.GONE) {
                    throw new HypervisorException("it " + (d.shutdownReason == null ? "went away" : "shut down ("
                            + d.shutdownReason.name().toLowerCase() + ")") + " instead of suspending");
                }
                if (acked < 0) {
                    if (!"suspend".equals(read(store, node))) {
                        acked = now;
                    } else if (now - t0 > ackMillis * 1_000_000) {
                        if (withdraw(store, node)) {
                            throw new HypervisorException("the guest did not take the suspend request (" + node + ") within " + ackMillis
                                    + " ms: its kernel runs no Xen suspend handler (manage.c), or it is hung; the request was withdrawn"
                                    + " and it runs on");
                        }
                        acked = now; // it took the request just now
                    }
                } else if (now - acked > suspendMillis * 1_000_000) {
                    throw new HypervisorException("the guest took the suspend request but did not suspend within " + suspendMillis
                            + " ms; it runs on (a guest whose freeze fails resumes by itself)");
                }
                Thread.sleep(2);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            withdraw(store, node);
            throw new HypervisorException("interrupted while waiting for the guest to suspend");
        } finally {
            if (!done) {
                d.suspendWanted = false;
            }
        }
    }

    /** Removes a request the guest has not taken (libxl's "cancelling request"); false if it took it meanwhile. */
    private static boolean withdraw(XenStore store, String node) {
        synchronized (store) {
            if ("suspend".equals(read(store, node))) {
                store.write(0, node, "");
                return true;
            }
            return false;
        }
    }

    /** The node's value; null if the guest removed it rather than emptying it (both take the request). */
    static String read(XenStore store, String node) {
        try {
            return store.readString(0, node);
        } catch (org.xenj.hypervisor.internal.xenstore.XsException e) {
            return null;
        }
    }

    /** A domain shut down for SUSPEND whose vCPU waits in the suspend hypercall. */
    static boolean suspended(DomainImpl d) {
        return d.phase == DomainImpl.Phase.SHUTDOWN && d.shutdownReason == ShutdownReason.SUSPEND && d.guest != null
                && d.guest.suspendedThroughXen();
    }

    /**
     * Ends a suspend in the same domain: the hypercall returns 1 (cancelled), the domain is live
     * again and runs unless paused by hand. False if the domain is not suspended.
     */
    boolean resumeCancelled(DomainImpl d, String why) {
        DomainState before;
        synchronized (core) {
            synchronized (d) {
                if (!suspended(d)) {
                    d.suspendWanted = false;
                    return false;
                }
                before = d.state();
                d.guest.resumeFromSuspend(1);
                d.shutdownReason = null;
                d.phase = DomainImpl.Phase.LIVE;
                d.suspendWanted = false;
            }
            core.applyActive(d);
        }
        core.log("d" + d.id + " (" + d.name + ") resumed in place (" + why + "): its suspend hypercall returns 1 (cancelled)");
        core.fire(l -> l.stateChanged(d, before));
        return true;
    }
}
