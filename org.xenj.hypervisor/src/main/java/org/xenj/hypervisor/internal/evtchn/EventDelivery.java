package org.xenj.hypervisor.internal.evtchn;

/**
 * Where a domain's pending/mask bits live and how its vCPUs are told: the shared_info page for a
 * guest ({@link SharedInfoEvents}), Java listeners for Domain 0's backends ({@link Dom0Events}).
 */
public interface EventDelivery {

    /** Sets {@code port} pending; if it was not pending and is unmasked, notifies {@code vcpu}. */
    void setPending(int port, int vcpu);

    /** Clears the pending bit (port closed). */
    void clearPending(int port);

    boolean isPending(int port);

    boolean isMasked(int port);

    /** Clears the mask bit; if the port is pending, notifies {@code vcpu} as a new event would. */
    void unmask(int port, int vcpu);
}
