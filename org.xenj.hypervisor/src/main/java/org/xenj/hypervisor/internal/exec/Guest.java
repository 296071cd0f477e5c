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

    /** Whether devices of this guest come from {@code model} (HVM device models). */
    default boolean usesDeviceModel(org.xenj.hypervisor.spi.DeviceModel model) {
        return false;
    }

    /**
     * With the vCPUs stopped: takes the state of {@code model}'s devices and detaches them, leaving
     * their place vacant for a model of the same name. Returns the state (null: none to hand over).
     */
    default byte[] detachDeviceModel(org.xenj.hypervisor.spi.DeviceModel model) {
        throw new UnsupportedOperationException("this guest has no device models");
    }

    /** Fills the vacant place of a model named like {@code model} with its devices in {@code state}. */
    default void attachDeviceModel(org.xenj.hypervisor.spi.DeviceModel model, byte[] state) {
        throw new UnsupportedOperationException("this guest has no device models");
    }

    /**
     * With the vCPUs stopped: every piece of the guest's state except memory, for a save. Throws
     * {@link org.xenj.hypervisor.api.HypervisorException} saying why when this guest cannot be saved.
     */
    default org.xenj.hypervisor.internal.save.MachineImage saveMachine() {
        throw new org.xenj.hypervisor.api.HypervisorException("this kind of guest cannot be saved yet (HVM guests can)");
    }

    /**
     * {@link #saveMachine()} without the device models' records (an empty map): the live
     * migration's stop takes them when it detaches the devices ({@link #detachDevicesForMigration}),
     * so taking them here too only lengthened the pause (qemu-dm's record is ≈ 200 KB with the VGA).
     */
    default org.xenj.hypervisor.internal.save.MachineImage saveMachineWithoutDevices() {
        return saveMachine();
    }

    /**
     * Incoming migration, before the state arrives (the domain paused, never run, its device places
     * vacant): runs the restore's vCPU and platform paths once on the guest's own power-on records,
     * so that the restore at the stream's END is not the JVM's first. Does nothing once
     * {@link #restoreMachine} has begun. Returns the power-on records it restored (the receiver's
     * dry run parses a stream of them), or null when it stopped before taking them.
     */
    default org.xenj.hypervisor.internal.save.MachineImage warmRestorePath() {
        return null;
    }

    /** Where the last {@link #restoreMachine} spent its time (for the log), or empty. */
    default String restoreBreakdown() {
        return "";
    }

    /**
     * A restore, before the pages load: lets the guest take the frames its state names that the
     * build did not (a PV domain's grant frames, set up at run time). Nothing by default.
     */
    default void prepareRestore(org.xenj.hypervisor.internal.save.MachineImage image) {
    }

    /** Before the vCPUs ever ran, with memory already loaded: puts the saved state back. */
    default void restoreMachine(org.xenj.hypervisor.internal.save.MachineImage image) {
        throw new org.xenj.hypervisor.api.HypervisorException("this kind of guest cannot be restored yet (HVM guests can)");
    }

    /**
     * With the vCPUs stopped (or not yet run), for a guest that may now be one of several copies
     * (a clone, a revert): a new VM generation ID and the guest's notification of it.
     *
     * @return false when this guest has no VM Generation ID device (its RNG state stays the original's)
     */
    default boolean newGenerationId() {
        return false;
    }

    /** Whether this guest has a VM Generation ID device (HVM with acpi=1). */
    default boolean hasGenerationId() {
        return false;
    }

    /**
     * The guest runs here from a save image or an incoming migration: its device models announce it
     * ({@link org.xenj.hypervisor.spi.DeviceModelInstance#resumedHere}). Never throws.
     */
    default void resumedHere() {
    }

    /** Why this guest cannot be saved or migrated now (checked before a migration starts), or null. */
    default String saveRefusal() {
        return "this kind of guest cannot be saved or migrated yet (HVM guests can)";
    }

    /** Whether the guest made a hypercall or placed Xen's hypercall page (PVHVM, PV, PVH). */
    default boolean usesXenAbi() {
        return false;
    }

    /** Whether a vCPU waits in SCHEDOP_shutdown(SHUTDOWN_suspend) for the toolstack. */
    default boolean suspendedThroughXen() {
        return false;
    }

    /**
     * The guest frames that hold Xen's own frames in its physmap now (shared_info, grant frames,
     * the xenstore and console rings): a PVHVM live migration leaves them out of every round, as a
     * save does (the destination has its own). Empty for a guest without Xen's ABI.
     */
    default java.util.BitSet xenFrameGfns() {
        return new java.util.BitSet();
    }

    /** Ends a suspend: the hypercall returns {@code result} (1: cancelled, the same domain goes on). */
    default void resumeFromSuspend(int result) {
        throw new IllegalStateException("this kind of guest has no suspend hypercall");
    }

    /**
     * Live migration, source side, vCPUs stopped: takes every device model's state record and
     * detaches its devices (no more DMA; disk images closed, so a destination in this JVM can open
     * them). {@link #reattachDevices} with the same map undoes it when the migration fails.
     */
    default java.util.Map<String, byte[]> detachDevicesForMigration() {
        throw new org.xenj.hypervisor.api.HypervisorException("this kind of guest cannot be migrated yet (HVM guests can)");
    }

    /** Puts devices detached by {@link #detachDevicesForMigration} back, in their recorded state. */
    default void reattachDevices(java.util.Map<String, byte[]> states) {
        throw new org.xenj.hypervisor.api.HypervisorException("this kind of guest cannot be migrated yet (HVM guests can)");
    }

    /** Platform state for {@code xl debug-keys d} (interrupt controllers, timers); empty if none. */
    default String debugState() {
        return "";
    }

    /** Releases host resources (device models, timers). Memory is freed by the domain core. */
    void destroy();
}
