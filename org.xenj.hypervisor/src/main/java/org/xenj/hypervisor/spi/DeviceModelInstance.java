package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;

/** One domain's devices. */
@ConsumerType
public interface DeviceModelInstance {

    /** Platform reset (reboot): devices return to power-on state. */
    void reset();

    /** Unmaps everything and frees host resources; the domain is going away or the bundle stops. */
    void detach();
}
