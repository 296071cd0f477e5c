package org.xenj.hypervisor.internal.exec;

/** The guest side of a live domain. */
public interface Guest {

    VCpuExecutor executor(int vcpu);

    /** Platform reset in place (HVM reboot without rebuilding); optional. */
    default void reset() {
    }

    /**
     * Asks the guest to shut down or reboot (PV: xenstore control/shutdown; HVM: ACPI power
     * button). Returns false if this guest has no way to be asked; the caller then reports that.
     */
    default boolean requestGuestShutdown(org.xenj.hypervisor.api.ShutdownReason reason) {
        return false;
    }

    /** Releases host resources (device models, timers). Memory is freed by the domain core. */
    void destroy();
}
