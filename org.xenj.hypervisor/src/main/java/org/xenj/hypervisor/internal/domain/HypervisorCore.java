package org.xenj.hypervisor.internal.domain;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.ConsoleAccess;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainListener;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HostInfo;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.PCpuInfo;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.api.VCpuInfo;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.internal.exec.HostTimer;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.log.Dmesg;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.backend.BackendHost;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.pool.CpuPoolManager;
import org.xenj.hypervisor.internal.sched.Bits;
import org.xenj.hypervisor.internal.sched.PCpu;
import org.xenj.hypervisor.internal.sched.PoolScheduler;
import org.xenj.hypervisor.internal.sched.SchedDomain;
import org.xenj.hypervisor.internal.sched.SchedulingCore;
import org.xenj.hypervisor.internal.sched.VCpu;
import org.xenj.hypervisor.internal.timer.HostTimerThread;

/**
 * The hypervisor as plain Java (the DS component is a thin wrapper): Domain-0, machine memory
 * partitioned among domains, the domain life-cycle, pCPUs and cpupools. Management calls are
 * serialised on this object's monitor; pCPU threads never take it, they hand domain events to
 * the control thread.
 */
public final class HypervisorCore implements Hypervisor, AutoCloseable {

    public static final String VERSION = "xenj-0.1";
    static final String DOM0_NAME = "Domain-0";
    private static final long QUIESCE_MILLIS = 5000;

    private final CoreConfig settings;
    private final Plugins plugins;
    private final Dmesg dmesg = new Dmesg();
    private final HostTimerThread timer;
    private final MachineMemory machine;
    /** The Xen ABI state of all domains (event channels, grants, xenstore), owned here, handed to builders. */
    private final XenHost xen;
    /** Dom0 backends attached to the domains that ask for their kind. */
    private final BackendHost backends;
    private final SchedulingCore sched;
    private final CpuPoolManager pools;
    private final DomainEvents events;
    private final ConcurrentSkipListMap<Integer, DomainImpl> domains = new ConcurrentSkipListMap<>();
    private final DeviceModelHandOver deviceHandOver = new DeviceModelHandOver(this);
    private final SaveRestore saveRestore = new SaveRestore(this);
    /** Xen's suspend protocol for PVHVM guests (save, cancelled suspends). */
    final PvhvmSuspend suspend = new PvhvmSuspend(this);
    private final Snapshots snapshots = new Snapshots(this, Snapshots.defaultRoot());
    private final HostQueries queries;
    final LiveMigration migration = new LiveMigration(this);
    private final long startNanos = System.nanoTime();
    private final String hostname;
    private final DomainImpl dom0;
    private final ShutdownHandler shutdowns;
    private int nextDomid = 1;
    private volatile boolean closing;

    public HypervisorCore(CoreConfig settings, Plugins plugins) {
        this.settings = settings;
        this.plugins = plugins;
        try {
            this.machine = new MachineMemory(settings.memoryBytes());
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("bad xenj.memory: " + e.getMessage(), e);
        }
        long dom0Frames = settings.dom0MemoryBytes() >>> MachineMemory.PAGE_SHIFT;
        if (dom0Frames < 1 || dom0Frames >= machine.totalFrames()) {
            throw new HypervisorException("xenj.dom0.memory (" + (settings.dom0MemoryBytes() >> 20) + " MiB) must be at least 4 KiB and less than xenj.memory ("
                    + ((long) machine.totalFrames() << MachineMemory.PAGE_SHIFT >> 20) + " MiB)");
        }
        if (settings.pcpus() < 1 || settings.pcpus() > 512) {
            throw new HypervisorException("xenj.pcpus must be 1..512, was " + settings.pcpus());
        }
        this.xen = new XenHost(machine);
        this.backends = new BackendHost(xen, this::log);
        this.timer = new HostTimerThread(this::log);
        this.events = new DomainEvents(this::log);
        this.hostname = hostname();
        this.sched = new SchedulingCore(settings.pcpus(), this::log);
        this.pools = new CpuPoolManager(sched, new CoreDomainDirectory(this), settings.scheduler(), this::log);
        this.shutdowns = new ShutdownHandler(this);
        this.queries = new HostQueries(plugins, sched, domains, this::dom0CpuNanos);
        // Domain-0 runs no guest code: its frames are owned (accounted) but need no host bytes
        DomainMemory mem0 = new DomainMemory(machine, Domain.PRIVILEGED_ID);
        int[] dom0Mfns = machine.reserve(Domain.PRIVILEGED_ID, (int) dom0Frames);
        DomainConfig c0 = DomainConfig.builder(DOM0_NAME).type(DomainType.DOM0)
                .memoryMiB(Math.max(1, settings.dom0MemoryBytes() >> 20)).vcpus(Math.min(128, settings.pcpus())).build();
        this.dom0 = new DomainImpl(this, Domain.PRIVILEGED_ID, DOM0_NAME, new UUID(0, 0), c0, mem0, null);
        dom0.reservedFrames = dom0Mfns.length;
        domains.put(0, dom0);
        dmesg.setMirror(line -> {
            byte[] b = (line + "\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            dom0.console.output(b, 0, b.length);
        });
        log("xenj " + VERSION + ": " + settings.pcpus() + " pCPUs, " + (settings.memoryBytes() >> 20) + " MiB ("
                + machine.totalFrames() + " frames), Domain-0 " + (settings.dom0MemoryBytes() >> 20) + " MiB, scheduler "
                + settings.scheduler());
        plugins.setListener(new CorePluginListener(this));
    }

    private static String hostname() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "localhost";
        }
    }

    // ------------------------------------------------------------------ internals for collaborators

    void log(String message) {
        dmesg.log(message);
    }

    Plugins plugins() {
        return plugins;
    }

    HostTimer timer() {
        return timer;
    }

    int nrPcpus() {
        return sched.nrPcpus();
    }

    /** The scheduling core, for tests and benchmarks inside the bundle. */
    public SchedulingCore scheduling() {
        return sched;
    }

    public CpuPoolManager poolManager() {
        return pools;
    }

    public MachineMemory machineMemory() {
        return machine;
    }

    /** The Dom0 backends' attachments, for tests inside the bundle. */
    public BackendHost backends() {
        return backends;
    }

    /** The Xen ABI state of every domain of this core. */
    public XenHost xen() {
        return xen;
    }

    /** The built guest of a domain (e.g. a WorkloadGuest), for tests inside the bundle. */
    public Guest guestOf(int domid) {
        DomainImpl d = domains.get(domid);
        return d == null ? null : d.guest();
    }

    /** The scheduling side of a domain, for tests inside the bundle. */
    public SchedDomain schedOf(int domid) {
        return requireGuest(domid).sched;
    }

    boolean poolHasScheduler(SchedDomain s) {
        return s.pool().type() != null;
    }

    String poolName(SchedDomain s) {
        return s.pool().name();
    }

    long dom0CpuNanos() {
        long total = ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
        long guests = 0;
        for (int i = 0; i < sched.nrPcpus(); i++) {
            guests += sched.pcpu(i).busyNanos();
        }
        return Math.max(0, total - guests);
    }

    /** Tells the domain listeners, on the control thread ({@link DomainEvents}). */
    void fire(Consumer<DomainListener> event) {
        events.fire(event);
    }

    /** Runs {@code task} on the control thread, off pCPU threads and this object's monitor. */
    void onControl(Runnable task) {
        events.run(task);
    }

    private DomainImpl requireDomain(int domid) {
        DomainImpl d = domains.get(domid);
        if (d == null || d.phase == DomainImpl.Phase.GONE) {
            throw new HypervisorException("no domain with id " + domid);
        }
        return d;
    }

    DomainImpl requireGuest(int domid) {
        DomainImpl d = requireDomain(domid);
        if (d.sched == null) {
            throw new HypervisorException("Domain-0 runs no guest code; the operation applies to guest domains only");
        }
        return d;
    }

    // ------------------------------------------------------------------ create

    @Override
    public Domain create(DomainConfig config) {
        if (config == null) {
            throw new HypervisorException("no domain configuration given");
        }
        return createDomain(config, UUID.randomUUID(), config.startPaused());
    }

    synchronized DomainImpl createDomain(DomainConfig config, UUID uuid, boolean paused) {
        return createDomain(config, uuid, paused, new org.xenj.hypervisor.internal.timer.HostClock(), false);
    }

    /**
     * With the domain's clock given (a restore continues the saved guest time); {@code deferDevices}:
     * an incoming migration, whose device models attach with the migrated state.
     */
    synchronized DomainImpl createDomain(DomainConfig config, UUID uuid, boolean paused, org.xenj.hypervisor.internal.exec.VirtualClock clock,
            boolean deferDevices) {
        checkOpen();
        Admission.validateName(config.name(), domains.values());
        if (config.type() == DomainType.DOM0) {
            throw new HypervisorException("type DOM0 is Domain-0's alone; choose hvm, pv, pvh or workload");
        }
        PoolScheduler pool = pools.pool(config.pool());
        int[] affinity = Affinity.parse(config.cpus(), sched.nrPcpus());
        long frames = config.memoryMiB() << (20 - MachineMemory.PAGE_SHIFT);
        if (frames > Integer.MAX_VALUE) {
            throw new HypervisorException("memory=" + config.memoryMiB() + " MiB is more than xenj can give one domain");
        }
        Admission.refuseUnbuildableType(config, plugins);
        if (frames > machine.freeFrames()) {
            // the whole guest at once: the layout's allocations below would each name only their own part
            throw new HypervisorException("cannot create domain '" + config.name() + "': not enough free memory: asked for "
                    + (frames << MachineMemory.PAGE_SHIFT >> 10) + " KiB, " + ((long) machine.freeFrames() << MachineMemory.PAGE_SHIFT >> 10)
                    + " KiB free of " + ((long) machine.totalFrames() << MachineMemory.PAGE_SHIFT >> 10) + " KiB");
        }
        int domid = nextDomid;
        DomainMemory memory = new DomainMemory(machine, domid);
        try {
            if (config.type() == DomainType.HVM) {
                org.xenj.hypervisor.internal.mem.HvmRamLayout.populate(memory, (int) frames);
            } else {
                memory.populate(0, (int) frames);
            }
        } catch (HypervisorException e) {
            // an HVM layout populates in two parts (below the VGA hole, above it): the first may have succeeded
            memory.releaseAll();
            throw new HypervisorException("cannot create domain '" + config.name() + "': " + e.getMessage(), e);
        }
        nextDomid = domid + 1 >= 0x7ff0 ? 1 : domid + 1;
        SchedDomain sd = new SchedDomain(domid, config.vcpus(), shutdowns);
        CpuPoolManager.initialParams(sd, config.cpuWeight(), config.cap());
        DomainImpl d = new DomainImpl(this, domid, config.name(), uuid, config, memory, sd, clock);
        d.userPaused = paused;
        d.devicesDeferred = deferDevices;
        d.context = new DomainContext(this, d);
        sched.register(sd, pool);
        if (affinity != null) {
            long[] bits = Bits.of(affinity);
            for (int i = 0; i < sd.vcpuCount(); i++) {
                PoolScheduler.affinityChanged(sd.vcpu(i), bits);
            }
        }
        domains.put(domid, d);
        String missing = Admission.missingPlugin(config, plugins);
        if (missing != null) {
            d.awaitingBuild = true;
            log("d" + domid + " (" + config.name() + ") created paused: waiting for " + missing);
        } else {
            try {
                build(d);
            } catch (RuntimeException | LinkageError e) {
                discard(d);
                String msg = e instanceof HypervisorException ? e.getMessage() : e.toString();
                log("d" + domid + " (" + config.name() + ") build failed: " + msg);
                throw new HypervisorException("cannot build domain '" + config.name() + "': " + msg, e);
            }
        }
        applyActive(d);
        log("d" + domid + " (" + config.name() + ") created: " + config.type() + ", " + config.vcpus() + " vCPUs, "
                + config.memoryMiB() + " MiB, pool " + config.pool() + (paused ? ", paused" : ""));
        fire(l -> l.created(d));
        return d;
    }

    /** The host's machine memory (a PV restore plans which frames the new domain gets). */
    MachineMemory machine() {
        return machine;
    }

    private void checkOpen() {
        if (closing) {
            throw new HypervisorException("the hypervisor is shutting down");
        }
    }


    private void build(DomainImpl d) {
        GuestBuilder builder = plugins.builderFor(d.config.type());
        Guest guest = builder.build(d.context);
        if (guest == null) {
            throw new HypervisorException(builder.getClass().getSimpleName() + " built nothing");
        }
        VCpuExecutor[] executors = new VCpuExecutor[d.sched.vcpuCount()];
        for (int i = 0; i < executors.length; i++) {
            executors[i] = guest.executor(i);
            if (executors[i] == null) {
                try {
                    guest.destroy();
                } catch (RuntimeException e) {
                    log("d" + d.id + ": destroying a half-built guest failed: " + e);
                }
                throw new HypervisorException("the guest builder gave no executor for vCPU " + i);
            }
        }
        for (int i = 0; i < executors.length; i++) {
            d.vcpu(i).setExecutor(executors[i]);
        }
        d.guest = guest;
        d.awaitingBuild = false;
        backends.domainBuilt(d.id, d.config);
    }

    /** Undoes a creation that failed half-way: nothing of the domain stays. */
    private void discard(DomainImpl d) {
        sched.unregister(d.sched);
        sched.releaseIndexes(d.sched);
        d.memory.releaseAll();
        domains.remove(d.id);
        d.phase = DomainImpl.Phase.GONE;
    }

    /** Tells the scheduling core whether the domain may run now. */
    /** Pauses {@code d} for a capture (save, snapshot) and says whether the user had paused it already. */
    synchronized boolean holdPaused(DomainImpl d) {
        boolean was = d.userPaused;
        d.userPaused = true;
        applyActive(d);
        return was;
    }

    void applyActive(DomainImpl d) {
        d.sched.pool().setActive(d.sched, d.shouldRun());
        for (int i = 0; i < d.sched.vcpuCount(); i++) {
            PoolScheduler.refreshVCpu(d.vcpu(i));
        }
    }

    /** Builds every domain that waited for a builder or device model which is now there. */
    synchronized void buildWaiting() {
        for (DomainImpl d : domains.values()) {
            if (!d.awaitingBuild || d.phase != DomainImpl.Phase.LIVE || Admission.missingPlugin(d.config, plugins) != null) {
                continue;
            }
            DomainState before = d.state();
            try {
                build(d);
                log("d" + d.id + " (" + d.name + ") built now that its " + d.config.type() + " builder is there");
                applyActive(d);
                fire(l -> l.stateChanged(d, before));
            } catch (RuntimeException | LinkageError e) {
                log("d" + d.id + " (" + d.name + ") build failed, destroying it: " + e.getMessage());
                onControl(() -> destroy(d.id));
            }
        }
    }

    // ------------------------------------------------------------------ destroy, pause

    @Override
    public void destroy(int domid) {
        DomainImpl d;
        DomainState before;
        synchronized (this) {
            d = requireGuest(domid);
            if (d.phase == DomainImpl.Phase.DYING) {
                throw new HypervisorException("domain " + domid + " (" + d.name + ") is already being destroyed");
            }
            before = d.state();
            d.phase = DomainImpl.Phase.DYING;
            sched.unregister(d.sched);
        }
        fire(l -> l.stateChanged(d, before));
        boolean quiet;
        try {
            quiet = sched.awaitQuiescent(d.sched, QUIESCE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            quiet = false;
        }
        if (quiet) {
            teardown(d);
        } else {
            log("d" + domid + " (" + d.name + "): a vCPU does not leave its pCPU; memory is freed when it does");
            Thread reaper = new Thread(() -> {
                try {
                    while (!sched.awaitQuiescent(d.sched, 60_000)) {
                        log("d" + domid + " still has a vCPU on a pCPU");
                    }
                    teardown(d);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "xenj-reaper-d" + domid);
            reaper.setDaemon(true);
            reaper.start();
        }
    }

    /** Frees everything of a dying domain whose vCPUs are off every pCPU. */
    private synchronized void teardown(DomainImpl d) {
        if (d.phase == DomainImpl.Phase.GONE) {
            return;
        }
        d.finalCpuNanos = d.sched.cpuTimeNanos();
        for (int v = 0; v < d.sched.vcpuCount(); v++) {
            log("d" + d.id + "v" + v + " (" + d.name + "): " + d.sched.vcpu(v).wakeLatencySummary());
        }
        Guest g = d.guest;
        backends.domainGone(d.id); // before the event channels and grants they use go
        if (g != null) {
            try {
                g.destroy();
            } catch (RuntimeException | LinkageError e) {
                log("d" + d.id + ": guest teardown failed: " + e);
            }
        }
        long kib = d.memoryKiB();
        d.memory.releaseAll();
        sched.releaseIndexes(d.sched);
        d.console.closeAll();
        domains.remove(d.id);
        deviceHandOver.forget(d.id);
        d.phase = DomainImpl.Phase.GONE;
        log("d" + d.id + " (" + d.name + ") destroyed, " + kib + " KiB returned");
        String name = d.name;
        fire(l -> l.destroyed(d.id, name));
    }

    /** The live or dying domain {@code domid}, or null. */
    DomainImpl domainOrNull(int domid) {
        return domains.get(domid);
    }

    /** Waits (bounded) until no vCPU of {@code d} executes; false on timeout. */
    boolean awaitQuiescent(DomainImpl d) {
        try {
            return sched.awaitQuiescent(d.sched, QUIESCE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void pause(int domid) {
        DomainImpl d;
        DomainState before;
        synchronized (this) {
            d = requireGuest(domid);
            requireLive(d, "paused");
            before = d.state();
            d.userPaused = true;
            applyActive(d);
        }
        awaitQuiescent(d);
        if (before != DomainState.PAUSED) {
            fire(l -> l.stateChanged(d, before));
        }
    }

    @Override
    public synchronized void unpause(int domid) {
        DomainImpl d = requireGuest(domid);
        if (PvhvmSuspend.suspended(d)) { // left suspended by xen:save -p: go on in this domain
            d.userPaused = false;
            suspend.resumeCancelled(d, "unpaused");
            return;
        }
        requireLive(d, "unpaused");
        DomainState before = d.state();
        d.userPaused = false;
        applyActive(d);
        if (before == DomainState.PAUSED) {
            fire(l -> l.stateChanged(d, before));
        }
    }

    private static void requireLive(DomainImpl d, String what) {
        if (d.phase != DomainImpl.Phase.LIVE) {
            throw new HypervisorException("domain " + d.id + " (" + d.name + ") is " + d.state().name().toLowerCase()
                    + " and cannot be " + what);
        }
    }

    // ------------------------------------------------------------------ save, restore

    @Override
    public org.xenj.hypervisor.api.SaveInfo save(int domid, java.nio.file.Path file, boolean leavePaused) {
        if (file == null) {
            throw new HypervisorException("no file to save to");
        }
        DomainImpl d;
        synchronized (this) {
            checkOpen();
            d = requireGuest(domid);
            requireLive(d, "saved");
        }
        return d.exclusively("a save", () -> saveRestore.save(d, file, leavePaused));
    }

    @Override
    public Domain restore(java.nio.file.Path file, Map<String, String> overrides, boolean paused) {
        if (file == null) {
            throw new HypervisorException("no file to restore from");
        }
        checkOpen();
        return snapshots.restore(file, overrides, paused, saveRestore); // a snapshot image gets a new VM generation ID
    }

    // ------------------------------------------------------------------ the VM state tree (Snapshots)

    /** Where the snapshot trees live (configuration {@code xenj.snapshot.dir}; blank: the default). */
    public void configureSnapshots(String dir) {
        snapshots.setRoot(dir == null || dir.isBlank() ? Snapshots.defaultRoot() : java.nio.file.Path.of(dir.trim()).toAbsolutePath());
    }

    /** The disk-branching service (qemu-dm's), or null. */
    org.xenj.hypervisor.spi.DiskBranching diskBranching() {
        return plugins.diskBranching();
    }

    /** The configurations of every domain here now (a snapshot's garbage collection keeps their disks). */
    List<DomainConfig> domainConfigs() {
        List<DomainConfig> out = new java.util.ArrayList<>();
        for (DomainImpl d : domains.values()) {
            if (d.phase != DomainImpl.Phase.GONE) {
                out.add(d.config);
            }
        }
        return out;
    }

    private synchronized DomainImpl liveGuest(int domid) {
        checkOpen();
        return requireGuest(domid);
    }

    @Override
    public org.xenj.hypervisor.api.SnapshotInfo snapshotCreate(int domid, String name) {
        return snapshots.create(liveGuest(domid), name);
    }

    @Override
    public List<org.xenj.hypervisor.api.SnapshotInfo> snapshots(int domid) {
        return snapshots.list(liveGuest(domid));
    }

    @Override
    public org.xenj.hypervisor.api.SnapshotInfo snapshotRevert(int domid, String name) {
        return snapshots.revert(liveGuest(domid), name);
    }

    @Override
    public void snapshotDelete(int domid, String name) {
        snapshots.delete(liveGuest(domid), name);
    }

    @Override
    public Domain cloneDomain(int domid, String snapshot, String newName) {
        checkOpen();
        return snapshots.cloneDomain(liveGuest(domid), snapshot, newName, saveRestore);
    }

    /** Migration settings: the shared secret, and whether (where) to receive; returns the receiver's port or -1. Over TLS. */
    public int configureMigration(String secret, boolean listen, String bind, int port) {
        return configureMigration(secret, listen, bind, port, true);
    }

    /** As above; {@code tls}: the stream over TLS 1.3 (both hosts alike), else in the clear. */
    public int configureMigration(String secret, boolean listen, String bind, int port, boolean tls) {
        return migration.configure(secret, listen, bind, port, tls);
    }

    @Override
    public org.xenj.hypervisor.api.MigrationInfo migrate(int domid, String host, int port, boolean live, long downtimeMillis, int maxRounds) {
        return migrate(domid, host, port, live, downtimeMillis, maxRounds, null);
    }
    @Override
    public org.xenj.hypervisor.api.MigrationInfo migrate(int domid, String host, int port, boolean live, long downtimeMillis, int maxRounds,
            java.util.function.Consumer<org.xenj.hypervisor.api.MigrationInfo.Progress> progress) {
        DomainImpl d = liveGuest(domid);
        synchronized (this) {
            requireLive(d, "migrated");
        }
        return d.exclusively("a migration", () -> migration.migrate(d, host, port, live, Math.max(1, downtimeMillis), Math.max(1, maxRounds),
                progress));
    }

    // ------------------------------------------------------------------ shutdown

    @Override
    public void shutdown(int domid, ShutdownReason reason) {
        Guest g;
        DomainImpl d;
        synchronized (this) {
            d = requireGuest(domid);
            requireLive(d, "shut down");
            g = d.guest;
        }
        if (g == null) {
            throw new HypervisorException("domain " + domid + " (" + d.name + ") has not started yet (" + Admission.missingPlugin(d.config, plugins)
                    + " missing); use destroy");
        }
        ShutdownReason r = reason == null ? ShutdownReason.POWEROFF : reason;
        boolean asked;
        try {
            asked = g.requestGuestShutdown(r);
        } catch (RuntimeException e) {
            throw new HypervisorException("asking domain " + domid + " to " + r.name().toLowerCase() + " failed: " + e.getMessage(), e);
        }
        if (!asked) {
            throw new HypervisorException("domain " + domid + " (" + d.name + ", " + d.config.type()
                    + ") cannot be asked to " + r.name().toLowerCase() + ": its guest has no shutdown channel (no PV drivers); use destroy");
        }
        log("d" + domid + " (" + d.name + ") asked to " + r.name().toLowerCase());
    }

    @Override
    public void reboot(int domid) {
        shutdown(domid, ShutdownReason.REBOOT);
    }

    /** The guest (or a vCPU failure) ended the domain's run; see {@link ShutdownHandler}. */
    void guestShutdown(DomainImpl d, ShutdownReason reason, Throwable cause) {
        shutdowns.shutdownRequested(d, reason, cause);
    }

    DomainImpl domain(int domid) {
        return domains.get(domid);
    }

    /** Renames a preserved domain (rename-restart). */
    synchronized void rename(DomainImpl d, String newName) {
        d.name = newName;
    }

    // ------------------------------------------------------------------ queries

    @Override
    public List<Domain> list() {
        return queries.list();
    }

    @Override
    public Optional<Domain> lookup(int domid) {
        return queries.lookup(domid);
    }

    @Override
    public Optional<Domain> lookup(String name) {
        return queries.lookup(name);
    }

    @Override
    public Domain resolve(String nameOrId) {
        String key = nameOrId == null ? "" : nameOrId.trim();
        Optional<Domain> d = key.matches("[0-9]{1,9}") ? lookup(Integer.parseInt(key)) : lookup(key);
        return d.orElseThrow(() -> new HypervisorException("no domain '" + nameOrId + "' (xen:list shows the domains)"));
    }

    @Override
    public HostInfo info() {
        return new HostInfo(hostname, VERSION, xenCaps(), sched.nrPcpus(),
                (long) machine.totalFrames() << MachineMemory.PAGE_SHIFT >> 10,
                (long) machine.freeFrames() << MachineMemory.PAGE_SHIFT >> 10,
                settings.scheduler(), pools.availableSchedulers(), System.nanoTime() - startNanos);
    }

    String xenCaps() {
        return queries.xenCaps();
    }

    @Override
    public List<PCpuInfo> pcpus() {
        return queries.pcpus();
    }

    @Override
    public List<VCpuInfo> vcpus(int domid) {
        return queries.vcpus(requireDomain(domid));
    }

    @Override
    public synchronized void pinVCpu(int domid, int vcpu, int[] pcpus) {
        queries.pinVCpu(requireGuest(domid), vcpu, pcpus);
    }

    @Override
    public List<String> dmesg() {
        return dmesg.lines();
    }

    @Override
    public void debugKeys(String keys) {
        DebugKeys.handle(keys == null ? "" : keys, domains.values(), this::log);
    }

    @Override
    public void clearDmesg() {
        dmesg.clear();
    }

    @Override
    public ConsoleAccess console(int domid) {
        return requireDomain(domid).console;
    }

    @Override
    public CpuPools cpupools() {
        return pools;
    }

    @Override
    public void addListener(DomainListener listener) {
        events.add(listener);
    }

    @Override
    public void removeListener(DomainListener listener) {
        events.remove(listener);
    }

    // ------------------------------------------------------------------ stop

    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true; // no new domains, no restarts from now on
        migration.stop();
        plugins.setListener(null);
        for (DomainImpl d : new ArrayList<>(domains.values())) {
            if (d.sched != null && d.phase != DomainImpl.Phase.DYING && d.phase != DomainImpl.Phase.GONE) {
                try {
                    destroy(d.id);
                } catch (RuntimeException e) {
                    log("destroying d" + d.id + " at stop failed: " + e.getMessage());
                }
            }
        }
        events.stop(); // no listener hears of the teardown below
        backends.close();
        sched.shutdown();
        timer.close();
        events.close();
    }

    // ---- what CorePluginListener needs

    CpuPoolManager pools() {
        return pools;
    }

    DeviceModelHandOver deviceHandOver() {
        return deviceHandOver;
    }

    Iterable<DomainImpl> domainsNow() {
        return domains.values();
    }
}
