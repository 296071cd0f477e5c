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

    /**
     * The domain runs on this host from a saved state that came from elsewhere: it arrived by live
     * migration (called once it is unpaused here) or was restored from a save image. Its guest does
     * not know it moved, so devices that face a network announce the guest's addresses now, as
     * QEMU's self-announce does after an incoming migration (so learning bridges move them to this
     * host's ports at once). Not called after a hand-over of the model (same host, same ports) nor a
     * snapshot revert. Must not block; the default does nothing.
     *
     * @since 1.8
     */
    default void resumedHere() {
    }
}
