package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A one-shot timer on the domain's clock ({@link HvmPlatform#nowNanos()}). Its callback runs when
 * the platform services timers (a vCPU at a block boundary, or the platform's host timer while the
 * vCPUs halt): keep it short and non-blocking; hand longer work to {@link HvmPlatform#deviceExecutor()}.
 */
@ProviderType
public interface DeviceTimer {

    /** (Re)arms the timer to fire once at {@code deadlineNanos} on the domain's clock. */
    void arm(long deadlineNanos);

    void cancel();

    /**
     * A timer that never fires and holds nothing: for platforms that exist only to exercise a device
     * model (warm-ups, examples), never for a domain's devices.
     */
    static DeviceTimer inert() {
        return new DeviceTimer() {
            @Override
            public void arm(long deadlineNanos) {
            }

            @Override
            public void cancel() {
            }
        };
    }
}
