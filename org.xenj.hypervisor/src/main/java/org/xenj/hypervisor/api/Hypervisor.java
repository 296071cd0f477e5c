package org.xenj.hypervisor.api;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The hypervisor as a service: what {@code xl} talks to. Every method is safe to call from any
 * thread. Failures are reported as {@link HypervisorException} with a message fit for a user.
 */
@ProviderType
public interface Hypervisor {

    /** Builds and starts (unless {@link DomainConfig#startPaused()}) a new domain. */
    Domain create(DomainConfig config);

    void destroy(int domid);

    void pause(int domid);

    void unpause(int domid);

    /** Asks the guest to shut down (PV: xenstore control/shutdown; HVM: ACPI-less power button). */
    void shutdown(int domid, ShutdownReason reason);

    void reboot(int domid);

    /** All domains, Domain-0 first, ordered by id. */
    List<Domain> list();

    Optional<Domain> lookup(int domid);

    Optional<Domain> lookup(String name);

    /** Resolves a name or a numeric id, as {@code xl} does; throws if there is none. */
    Domain resolve(String nameOrId);

    HostInfo info();

    List<PCpuInfo> pcpus();

    List<VCpuInfo> vcpus(int domid);

    /** Hard affinity: the pCPUs this vCPU may run on (empty = all of its pool). */
    void pinVCpu(int domid, int vcpu, int[] pcpus);

    /** The hypervisor's log ring, oldest first ({@code xl dmesg}). */
    List<String> dmesg();

    /**
     * Xen's debug keys ({@code xl debug-keys}): each character asks for a dump, written to the log
     * ({@link #dmesg}). {@code h} lists the keys, {@code d} dumps every vCPU's registers and, for HVM
     * domains, the interrupt controllers and timers, {@code q} the domains. Unknown keys are said so
     * in the log. A dump reads state a running vCPU may be changing: it is a snapshot for diagnosis.
     *
     * @since 1.1
     */
    void debugKeys(String keys);

    void clearDmesg();

    /**
     * Saves a domain to {@code file} ({@code xl save}): pauses it, writes its memory and every
     * device's state as one versioned, checksummed stream, and destroys it — or, with
     * {@code leavePaused}, leaves it paused ({@code xl save -p}). A failed save leaves no file and
     * the domain as it was. Disk images are closed by the destroy, so a restore can open them.
     *
     * @since 1.2
     */
    SaveInfo save(int domid, java.nio.file.Path file, boolean leavePaused);

    /**
     * Creates a domain from an image {@link #save} wrote ({@code xl restore}), running unless
     * {@code paused}. {@code overrides} change {@code name}, {@code pool}, {@code cpus},
     * {@code cpu_weight}, {@code cap} and xl.cfg keys the devices read; the guest's machine
     * ({@code type}, {@code memory}, {@code vcpus}) is the image's. An image of another format
     * version, or with any record damaged, is refused with the reason and nothing is created.
     *
     * @since 1.2
     */
    Domain restore(java.nio.file.Path file, java.util.Map<String, String> overrides, boolean paused);

    /**
     * Moves a running HVM domain to the xenj listening at {@code host:port} ({@code xl migrate}):
     * with {@code live}, rounds of dirty pages while it runs (until the dirty set fits
     * {@code downtimeMillis} at the measured rate, stops shrinking, or after {@code maxRounds}),
     * then a pause for the last pages and the device and vCPU state; the destination resumes it and
     * only then is it destroyed here. Both hosts must be configured with the same
     * {@code xenj.migrate.secret}. Any failure leaves the domain running here as it was.
     * {@code localhost} works (as xl allows): the disks are handed over in the same JVM.
     *
     * @since 1.3
     */
    default MigrationInfo migrate(int domid, String host, int port, boolean live, long downtimeMillis, int maxRounds) {
        throw new HypervisorException("this hypervisor cannot migrate domains");
    }

    /**
     * As {@link #migrate(int, String, int, boolean, long, int)}, telling {@code progress} (on the
     * migrating thread) after each pre-copy round and at each step of the stop: rounds, pages,
     * MB/s, expected downtime. A PVHVM guest is asked to suspend itself through Xen's protocol at
     * the stop, and reconnects its frontends to the destination's backends when it resumes there.
     *
     * @since 1.5
     */
    default MigrationInfo migrate(int domid, String host, int port, boolean live, long downtimeMillis, int maxRounds,
            java.util.function.Consumer<MigrationInfo.Progress> progress) {
        return migrate(domid, host, port, live, downtimeMillis, maxRounds);
    }

    /**
     * Takes a snapshot of a running or paused domain: pauses it briefly, captures its memory and
     * every device's state into one image (the save stream), and lets it go on as it was. The new
     * snapshot's parent is the domain's current snapshot, and it becomes the current one. Refused,
     * with nothing changed, for a duplicate or malformed name or a domain that cannot be saved.
     * Each writable disk branches: its image becomes read-only and the snapshot's, and the domain
     * goes on in a new qcow2 overlay over it (refused without a disk-branching service).
     *
     * @since 1.4
     */
    default SnapshotInfo snapshotCreate(int domid, String name) {
        throw new HypervisorException("this hypervisor has no snapshots");
    }

    /** The domain's snapshot tree, parents before their children, oldest first among siblings. @since 1.4 */
    default java.util.List<SnapshotInfo> snapshots(int domid) {
        throw new HypervisorException("this hypervisor has no snapshots");
    }

    /**
     * Puts a live domain back into a snapshot's state: pause, replace its memory and every
     * device's and vCPU's state, resume (or stay paused if it was). Its id, name and UUID stay;
     * its guest time goes on (the guest sees a pause). A damaged image is refused before anything
     * is touched.
     *
     * @since 1.4
     */
    default SnapshotInfo snapshotRevert(int domid, String name) {
        throw new HypervisorException("this hypervisor has no snapshots");
    }

    /** Deletes a snapshot; its children move to its parent (each image stands alone). @since 1.4 */
    default void snapshotDelete(int domid, String name) {
        throw new HypervisorException("this hypervisor has no snapshots");
    }

    /**
     * A new running domain {@code newName} branched from a snapshot of {@code domid} (or, with
     * {@code snapshot} null, from its state now, taken with a brief pause) while the original runs
     * on: a new domain id, a new UUID, new MAC addresses (derived from the new name, as default
     * vif MACs are), and an empty snapshot tree.
     *
     * @since 1.4
     */
    default Domain cloneDomain(int domid, String snapshot, String newName) {
        throw new HypervisorException("this hypervisor cannot clone domains");
    }

    ConsoleAccess console(int domid);

    CpuPools cpupools();

    void addListener(DomainListener listener);

    void removeListener(DomainListener listener);
}
