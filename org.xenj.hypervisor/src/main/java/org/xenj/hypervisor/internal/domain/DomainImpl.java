package org.xenj.hypervisor.internal.domain;

import java.util.UUID;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.console.ConsoleRing;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.VirtualClock;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.sched.SchedDomain;
import org.xenj.hypervisor.internal.sched.VCpu;
import org.xenj.hypervisor.internal.timer.HostClock;

/**
 * One domain. Its life-cycle fields are changed by {@link HypervisorCore} under the core's
 * lock; readers (monitoring) get racy but consistent-enough snapshots, as {@code xl list} does.
 */
final class DomainImpl implements Domain {

    /** Where a domain is in its life, beyond what the scheduler shows. */
    enum Phase { LIVE, SHUTDOWN, CRASHED, DYING, GONE }

    private final HypervisorCore core;
    final int id;
    final UUID uuid;
    /** Changes only while the domain is paused with its devices detached: a snapshot or revert retargets its writable disks to new overlays. */
    volatile DomainConfig config;
    final DomainMemory memory;
    /** Null for Domain-0, which runs no guest code. */
    final SchedDomain sched;
    final ConsoleRing console;
    final long createdNanos;
    volatile String name;
    volatile Guest guest;
    volatile DomainContext context;
    volatile boolean userPaused;
    volatile boolean awaitingBuild;
    /** Built for an incoming migration: device models attach with the migrated state. */
    volatile boolean devicesDeferred;
    /** Its devices are being handed from one device model to the next (see DeviceModelHandOver). */
    volatile boolean awaitingDevices;
    volatile Phase phase = Phase.LIVE;
    volatile ShutdownReason shutdownReason;
    /** The toolstack asked this PVHVM guest to suspend (a save): its SHUTDOWN_suspend is expected, not resumed at once. */
    volatile boolean suspendWanted;
    /** The exit code the guest ended with (isa-debug-exit), or null. */
    volatile Integer exitCode;
    /** Frames owned without host bytes (Domain-0's share). */
    volatile int reservedFrames;
    /** Frozen CPU time once gone. */
    volatile long finalCpuNanos = -1;

    /** The operation on the domain's whole state under way (a save, a migration, a snapshot, a revert), or null. */
    private final java.util.concurrent.atomic.AtomicReference<String> stateOperation = new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * Runs {@code op} as the only operation on the domain's whole state: two of them at once would
     * pause and resume under each other, and a revert during a migration would change memory and
     * devices the stream is taking. The second is refused, nothing changed.
     */
    <T> T exclusively(String what, java.util.function.Supplier<T> op) {
        String other = stateOperation.compareAndExchange(null, what);
        if (other != null) {
            throw new HypervisorException("domain " + id + " (" + name + ") is busy with " + other + "; " + what
                    + " refused, nothing was changed");
        }
        try {
            return op.get();
        } finally {
            stateOperation.set(null);
        }
    }

    /** The domain's one virtual clock: TSC, platform timers and Xen time all derive from it. */
    final VirtualClock clock;

    DomainImpl(HypervisorCore core, int id, String name, UUID uuid, DomainConfig config, DomainMemory memory, SchedDomain sched) {
        this(core, id, name, uuid, config, memory, sched, new HostClock());
    }

    /** With {@code clock}: a restored domain's clock goes on from the saved one. */
    DomainImpl(HypervisorCore core, int id, String name, UUID uuid, DomainConfig config, DomainMemory memory, SchedDomain sched,
            VirtualClock clock) {
        this.core = core;
        this.id = id;
        this.name = name;
        this.uuid = uuid;
        this.config = config;
        this.memory = memory;
        this.sched = sched;
        this.console = new ConsoleRing(name);
        this.createdNanos = System.nanoTime();
        this.clock = clock;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public UUID uuid() {
        return uuid;
    }

    @Override
    public boolean hasGenerationId() {
        Guest g = guest;
        return g != null && g.hasGenerationId();
    }

    @Override
    public DomainState state() {
        switch (phase) {
            case SHUTDOWN:
                return DomainState.SHUTDOWN;
            case CRASHED:
                return DomainState.CRASHED;
            case DYING:
            case GONE:
                return DomainState.DYING;
            default:
                break;
        }
        if (sched == null) {
            return DomainState.RUNNING;
        }
        if (userPaused || awaitingBuild || awaitingDevices || !core.poolHasScheduler(sched)) {
            return DomainState.PAUSED;
        }
        for (int i = 0; i < sched.vcpuCount(); i++) {
            switch (sched.vcpu(i).state()) {
                case RUNNING, RUNNABLE:
                    return DomainState.RUNNING;
                default:
                    break;
            }
        }
        return DomainState.BLOCKED;
    }

    @Override
    public DomainType type() {
        return config.type();
    }

    @Override
    public int vcpus() {
        return sched == null ? core.nrPcpus() : sched.vcpuCount();
    }

    @Override
    public long memoryKiB() {
        return ((long) memory.populatedFrames() + reservedFrames) << MachineMemory.PAGE_SHIFT >> 10;
    }

    @Override
    public long maxMemoryKiB() {
        return config.maxMemoryMiB() << 10;
    }

    @Override
    public long uptimeNanos() {
        return System.nanoTime() - createdNanos;
    }

    @Override
    public long cpuTimeNanos() {
        if (finalCpuNanos >= 0) {
            return finalCpuNanos;
        }
        return sched == null ? core.dom0CpuNanos() : sched.cpuTimeNanos();
    }

    @Override
    public String pool() {
        return sched == null ? org.xenj.hypervisor.api.CpuPools.DEFAULT_POOL : core.poolName(sched);
    }

    @Override
    public DomainConfig config() {
        return config;
    }

    @Override
    public ShutdownReason shutdownReason() {
        return shutdownReason;
    }

    @Override
    public java.util.OptionalInt exitCode() {
        Integer c = exitCode;
        return c == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(c);
    }

    /** Whether the domain may run now (the pool's scheduler aside). */
    boolean shouldRun() {
        return phase == Phase.LIVE && !userPaused && !awaitingBuild && !awaitingDevices && guest != null;
    }

    VCpu vcpu(int i) {
        return sched.vcpu(i);
    }

    /** The built guest, for tests and tools inside the bundle; null until built. */
    Guest guest() {
        return guest;
    }

    @Override
    public String toString() {
        return "d" + id + " (" + name + ")";
    }
}
