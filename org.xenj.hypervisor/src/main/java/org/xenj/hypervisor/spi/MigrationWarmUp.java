package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Implemented by a {@link DeviceModel} whose devices take noticeably longer to save, detach or
 * attach from a record the first time in a JVM (class loading, the interpreter): the hypervisor
 * calls {@link #warmUp} once per model, on a background thread, when the migration receiver is
 * configured and when a migration starts or arrives, so that the first migration's pause does not
 * pay for it. The model exercises those paths on devices of its own that no domain sees (no disk
 * opened, no switch port, no service registered).
 *
 * @since 1.9
 */
@ConsumerType
public interface MigrationWarmUp {

    /** Runs the save, detach and attach-from-record paths once on throw-away devices. Must not throw. */
    void warmUp();
}
