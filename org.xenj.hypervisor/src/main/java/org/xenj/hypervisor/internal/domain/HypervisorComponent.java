package org.xenj.hypervisor.internal.domain;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.xenj.hypervisor.api.ConsoleAccess;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainListener;
import org.xenj.hypervisor.api.HostInfo;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.PCpuInfo;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.api.VCpuInfo;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.MigrationGate;
import org.xenj.hypervisor.spi.SchedulerType;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendHotplug;
import org.xenj.hypervisor.spi.hypercall.HypercallExtension;

/**
 * Publishes the {@link Hypervisor} service: a thin OSGi wrapper over {@link HypervisorCore}.
 * Scheduler types, guest builders and device models are tracked with dynamic, greedy, multiple
 * references; binds may arrive before activation and are kept in {@link Plugins}. Unbinds
 * remove by identity (a replacement is bound before the old service is unbound).
 */
@Component(service = {Hypervisor.class, BackendHotplug.class}, immediate = true, configurationPid = "org.xenj.hypervisor")
@Designate(ocd = HypervisorComponent.Config.class)
public final class HypervisorComponent implements Hypervisor, BackendHotplug {

    @ObjectClassDefinition(name = "xenj hypervisor", description = "Start-up settings of the hypervisor")
    public @interface Config {
        @AttributeDefinition(description = "Memory given to xenj, split into 4 KiB frames (e.g. 2048M, 2G)")
        String xenj_memory() default CoreConfig.DEFAULT_MEMORY;

        @AttributeDefinition(description = "Number of pCPUs (host worker threads); 0 = one per host core")
        int xenj_pcpus() default 0;

        @AttributeDefinition(description = "Memory owned by Domain-0")
        String xenj_dom0_memory() default CoreConfig.DEFAULT_DOM0_MEMORY;

        @AttributeDefinition(description = "Scheduler of Pool-0 (credit, rr, ...)")
        String xenj_scheduler() default CoreConfig.DEFAULT_SCHEDULER;

        @AttributeDefinition(description = "Shared secret of xen:migrate (both hosts; 8 characters or more); none: no migration")
        String xenj_migrate_secret() default "";

        @AttributeDefinition(description = "Receive migrations (xl migrate-receive); needs xenj.migrate.secret")
        boolean xenj_migrate_listen() default false;

        @AttributeDefinition(description = "Address the migration receiver binds to")
        String xenj_migrate_bind() default "127.0.0.1";

        @AttributeDefinition(description = "Port of the migration receiver (and the default of xen:migrate)")
        int xenj_migrate_port() default 8002;

        @AttributeDefinition(description = "Migration stream over TLS 1.3 (both hosts alike); false: in the clear")
        boolean xenj_migrate_tls() default true;

        @AttributeDefinition(description = "Where snapshot trees are kept (one folder per domain UUID); blank: ${karaf.data}/xenj/snapshots")
        String xenj_snapshot_dir() default "";
    }

    private final Plugins plugins = new Plugins();
    private volatile HypervisorCore core;

    @Activate
    void activate(Config config) {
        core = new HypervisorCore(CoreConfig.parse(config.xenj_memory(), config.xenj_pcpus(), config.xenj_dom0_memory(),
                config.xenj_scheduler()), plugins);
        core.configureMigration(config.xenj_migrate_secret(), config.xenj_migrate_listen(), config.xenj_migrate_bind(),
                config.xenj_migrate_port(), config.xenj_migrate_tls());
        core.configureSnapshots(config.xenj_snapshot_dir());
    }

    @Deactivate
    void deactivate() {
        HypervisorCore c = core;
        core = null;
        if (c != null) {
            c.close();
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindSchedulerType(SchedulerType t) {
        plugins.addScheduler(t);
    }

    void unbindSchedulerType(SchedulerType t) {
        plugins.removeScheduler(t);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindGuestBuilder(GuestBuilder b) {
        plugins.addBuilder(b);
    }

    void unbindGuestBuilder(GuestBuilder b) {
        plugins.removeBuilder(b);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDeviceModel(DeviceModel m) {
        plugins.addDeviceModel(m);
    }

    void unbindDeviceModel(DeviceModel m) {
        plugins.removeDeviceModel(m);
    }

    /** Dom0 backends of other bundles, keyed by their {@code xenj.backend.kind} property. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindBackend(Backend b, Map<String, Object> properties) {
        Object kind = properties.get(Backend.KIND);
        plugins.addBackend(b, kind == null ? null : kind.toString());
    }

    void unbindBackend(Backend b) {
        plugins.removeBackend(b);
    }

    /** Asked before a domain that arrived by migration first runs here (a pool hands its lease over then). */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindMigrationGate(MigrationGate g) {
        plugins.addGate(g);
    }

    void unbindMigrationGate(MigrationGate g) {
        plugins.removeGate(g);
    }

    /** Branches writable disks at snapshots, reverts and clones (qemu-dm's, through the block layer). */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDiskBranching(org.xenj.hypervisor.spi.DiskBranching b) {
        plugins.addDiskBranching(b);
    }

    void unbindDiskBranching(org.xenj.hypervisor.spi.DiskBranching b) {
        plugins.removeDiskBranching(b);
    }

    /** Hypercall extensions of other bundles; one leaving is removed at once (its number answers -ENOSYS). */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindHypercallExtension(HypercallExtension e) {
        plugins.addExtension(e);
    }

    void unbindHypercallExtension(HypercallExtension e) {
        plugins.removeExtension(e);
    }

    private HypervisorCore core() {
        HypervisorCore c = core;
        if (c == null) {
            throw new HypervisorException("the hypervisor is not running");
        }
        return c;
    }

    /** Hot-plug into a domain whose configuration did not name the kind (xl block-attach into a diskless domain). */
    @Override
    public void serve(int domid, String kind) {
        core().backends().serve(domid, kind);
    }

    @Override
    public Domain create(DomainConfig config) {
        return core().create(config);
    }

    @Override
    public void destroy(int domid) {
        core().destroy(domid);
    }

    @Override
    public void pause(int domid) {
        core().pause(domid);
    }

    @Override
    public void unpause(int domid) {
        core().unpause(domid);
    }

    @Override
    public void shutdown(int domid, ShutdownReason reason) {
        core().shutdown(domid, reason);
    }

    @Override
    public void reboot(int domid) {
        core().reboot(domid);
    }

    @Override
    public List<Domain> list() {
        return core().list();
    }

    @Override
    public Optional<Domain> lookup(int domid) {
        return core().lookup(domid);
    }

    @Override
    public Optional<Domain> lookup(String name) {
        return core().lookup(name);
    }

    @Override
    public Domain resolve(String nameOrId) {
        return core().resolve(nameOrId);
    }

    @Override
    public HostInfo info() {
        return core().info();
    }

    @Override
    public List<PCpuInfo> pcpus() {
        return core().pcpus();
    }

    @Override
    public List<VCpuInfo> vcpus(int domid) {
        return core().vcpus(domid);
    }

    @Override
    public void pinVCpu(int domid, int vcpu, int[] pcpus) {
        core().pinVCpu(domid, vcpu, pcpus);
    }

    @Override
    public List<String> dmesg() {
        return core().dmesg();
    }

    @Override
    public void debugKeys(String keys) {
        core().debugKeys(keys);
    }

    @Override
    public org.xenj.hypervisor.api.SaveInfo save(int domid, java.nio.file.Path file, boolean leavePaused) {
        return core().save(domid, file, leavePaused);
    }

    @Override
    public Domain restore(java.nio.file.Path file, java.util.Map<String, String> overrides, boolean paused) {
        return core().restore(file, overrides, paused);
    }

    @Override
    public org.xenj.hypervisor.api.SnapshotInfo snapshotCreate(int domid, String name) {
        return core().snapshotCreate(domid, name);
    }

    @Override
    public java.util.List<org.xenj.hypervisor.api.SnapshotInfo> snapshots(int domid) {
        return core().snapshots(domid);
    }

    @Override
    public org.xenj.hypervisor.api.SnapshotInfo snapshotRevert(int domid, String name) {
        return core().snapshotRevert(domid, name);
    }

    @Override
    public void snapshotDelete(int domid, String name) {
        core().snapshotDelete(domid, name);
    }

    @Override
    public Domain cloneDomain(int domid, String snapshot, String newName) {
        return core().cloneDomain(domid, snapshot, newName);
    }

    @Override
    public org.xenj.hypervisor.api.MigrationInfo migrate(int domid, String host, int port, boolean live, long downtimeMillis,
            int maxRounds) {
        return core().migrate(domid, host, port, live, downtimeMillis, maxRounds);
    }

    @Override
    public org.xenj.hypervisor.api.MigrationInfo migrate(int domid, String host, int port, boolean live, long downtimeMillis,
            int maxRounds, java.util.function.Consumer<org.xenj.hypervisor.api.MigrationInfo.Progress> progress) {
        return core().migrate(domid, host, port, live, downtimeMillis, maxRounds, progress);
    }

    @Override
    public void clearDmesg() {
        core().clearDmesg();
    }

    @Override
    public ConsoleAccess console(int domid) {
        return core().console(domid);
    }

    @Override
    public CpuPools cpupools() {
        return core().cpupools();
    }

    @Override
    public void addListener(DomainListener listener) {
        core().addListener(listener);
    }

    @Override
    public void removeListener(DomainListener listener) {
        core().removeListener(listener);
    }
}
