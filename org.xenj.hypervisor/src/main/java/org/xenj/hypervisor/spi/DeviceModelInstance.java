package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;

/** One domain's devices. */
@ConsumerType
public interface DeviceModelInstance {

    /** Platform reset (reboot): devices return to power-on state. */
    void reset();

    /** Unmaps everything and frees host resources; the domain is going away or the bundle stops. */
    void detach();

    /**
     * Every guest-visible bit of these devices as the model's own versioned record, taken with the
     * domain's vCPUs stopped, just before {@link #detach} when the model's bundle stops or is
     * updated: the next instance of a model of the same {@link DeviceModel#name} gets it through
     * {@link DeviceModel#attach(HvmPlatform, byte[])}. Null (the default): these devices cannot be
     * handed over, and the domain stays paused until it is destroyed.
     *
     * @since 1.2
     */
    default byte[] saveState() {
        return null;
    }
}
