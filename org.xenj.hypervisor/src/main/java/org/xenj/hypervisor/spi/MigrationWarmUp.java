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
 * <p>The core also attaches such a model to a domain that is arriving by migration, while its
 * memory arrives (paused, never run, the model's place vacant): once fresh and once from the record
 * that attach gave, each detached again, on a view of the domain's platform whose configuration has
 * no disks and no display and whose console, timers, reset and log go nowhere. So the attach at the
 * end of the migration runs the domain's own platform paths (ports, PCI bus, interrupt lines, switch
 * bridge) for the second time; a detach must leave nothing of that attach behind.
 *
 * @since 1.9
 */
@ConsumerType
public interface MigrationWarmUp {

    /** Runs the save, detach and attach-from-record paths once on throw-away devices. Must not throw. */
    void warmUp();
}
