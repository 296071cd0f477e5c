package org.xenj.hypervisor.internal.exec;

/** The guest side of a live domain. */
public interface Guest {

    VCpuExecutor executor(int vcpu);

    /** Platform reset in place (HVM reboot without rebuilding); optional. */
    default void reset() {
    }

    /** Releases host resources (device models, timers). Memory is freed by the domain core. */
    void destroy();
}
