package org.xenj.dom0.toolstack.internal.command;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.ConsoleAccess;
import org.xenj.hypervisor.api.CpuPoolInfo;
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
import org.xenj.hypervisor.api.VCpuState;

/** An in-memory stand-in for the hypervisor, recording what the commands asked of it. */
class StubHypervisor implements Hypervisor {

    final Map<Integer, StubDomain> domains = new LinkedHashMap<>();
    final List<String> calls = new ArrayList<>();
    final Map<String, CpuPoolInfo> pools = new LinkedHashMap<>();
    final StubPools cpupools = new StubPools();
    final Map<Integer, Map<String, String>> domainParams = new HashMap<>();
    final Map<String, Map<String, String>> poolParams = new HashMap<>();
    final List<String> log = new ArrayList<>(List.of("(XEN) xenj starting", "(XEN) Domain-0 created"));
    final StubConsole console = new StubConsole();
    int nextId = 1;

    StubHypervisor() {
        domains.put(0, new StubDomain(0, DomainConfig.builder("Domain-0").type(DomainType.DOM0).memoryMiB(1024).vcpus(2).build()));
        domains.get(0).state = DomainState.RUNNING;
        domains.get(0).cpuNanos = 12_300_000_000L;
        pools.put("Pool-0", new CpuPoolInfo(0, "Pool-0", "credit", new int[] {0, 1, 2, 3}, 1));
        poolParams.put("Pool-0", new HashMap<>(Map.of("tslice_ms", "30", "ratelimit_us", "1000")));
    }

    class StubDomain implements Domain {
        final int id;
        final DomainConfig config;
        DomainState state = DomainState.BLOCKED;
        long cpuNanos;
        String pool;

        StubDomain(int id, DomainConfig config) {
            this.id = id;
            this.config = config;
            this.pool = config.pool();
        }

        @Override public int id() { return id; }
        @Override public String name() { return config.name(); }
        @Override public UUID uuid() { return new UUID(0, id); }
        /** As the core answers: an HVM domain built with acpi=1 has the VM Generation ID device. */
        @Override public boolean hasGenerationId() { return "1".equals(config.raw().get("acpi")); }
        @Override public DomainState state() { return state; }
        @Override public DomainType type() { return config.type(); }
        @Override public int vcpus() { return config.vcpus(); }
        @Override public long memoryKiB() { return config.memoryMiB() * 1024; }
        @Override public long maxMemoryKiB() { return config.maxMemoryMiB() * 1024; }
        @Override public long uptimeNanos() { return 100_000_000_000L; }
        @Override public long cpuTimeNanos() { return cpuNanos; }
        @Override public String pool() { return pool; }
        @Override public DomainConfig config() { return config; }
        @Override public ShutdownReason shutdownReason() { return null; }
    }

    static class StubConsole implements ConsoleAccess {
        byte[] history = "boot log\n".getBytes();
        Consumer<byte[]> attached;
        final java.io.ByteArrayOutputStream typed = new java.io.ByteArrayOutputStream();
        boolean detached;

        @Override public byte[] history() { return history; }
        @Override public synchronized AutoCloseable attach(Consumer<byte[]> output) {
            attached = output;
            return () -> detached = true;
        }
        @Override public synchronized void write(byte[] input) { typed.writeBytes(input); }
    }

    @Override
    public Domain create(DomainConfig config) {
        calls.add("create " + config.name());
        for (StubDomain d : domains.values()) {
            if (d.name().equals(config.name())) {
                throw new HypervisorException("domain '" + config.name() + "' already exists");
            }
        }
        StubDomain d = new StubDomain(nextId++, config);
        d.state = config.startPaused() ? DomainState.PAUSED : DomainState.RUNNING;
        domains.put(d.id, d);
        return d;
    }

    @Override public void destroy(int domid) { calls.add("destroy " + domid); domains.remove(domid); }
    @Override public void pause(int domid) { calls.add("pause " + domid); domains.get(domid).state = DomainState.PAUSED; }
    @Override public void unpause(int domid) { calls.add("unpause " + domid); domains.get(domid).state = DomainState.RUNNING; }
    @Override public void shutdown(int domid, ShutdownReason reason) { calls.add("shutdown " + domid + " " + reason); }
    @Override public void reboot(int domid) { calls.add("reboot " + domid); }
    @Override public List<Domain> list() { return new ArrayList<>(domains.values()); }
    @Override public Optional<Domain> lookup(int domid) { return Optional.ofNullable(domains.get(domid)); }

    @Override
    public Optional<Domain> lookup(String name) {
        return domains.values().stream().filter(d -> d.name().equals(name)).map(d -> (Domain) d).findFirst();
    }

    @Override
    public Domain resolve(String nameOrId) {
        Optional<Domain> d = lookup(nameOrId);
        if (d.isEmpty() && nameOrId.matches("\\d+")) {
            d = lookup(Integer.parseInt(nameOrId));
        }
        return d.orElseThrow(() -> new HypervisorException("no domain '" + nameOrId + "'"));
    }

    @Override
    public HostInfo info() {
        return new HostInfo("host1", "0.1.0", "xen-3.0-x86_32p hvm-3.0-x86_32", 4, 2048 * 1024, 1024 * 1024,
                "credit", List.of("credit", "rr"), 5_000_000_000L);
    }

    @Override public List<PCpuInfo> pcpus() { return List.of(); }

    @Override
    public List<VCpuInfo> vcpus(int domid) {
        StubDomain d = domains.get(domid);
        List<VCpuInfo> l = new ArrayList<>();
        for (int i = 0; i < d.vcpus(); i++) {
            l.add(new VCpuInfo(domid, d.name(), i, i == 0 ? 1 : -1, i == 0 ? VCpuState.RUNNING : VCpuState.BLOCKED,
                    2_500_000_000L, new int[0]));
        }
        return l;
    }

    @Override public void pinVCpu(int domid, int vcpu, int[] pcpus) { calls.add("pin " + domid + " " + vcpu + " " + Formats.join(pcpus)); }
    @Override public List<String> dmesg() { return List.copyOf(log); }
    @Override public void debugKeys(String keys) { calls.add("debugKeys " + keys); log.add("debug keys " + keys); }
    @Override
    public org.xenj.hypervisor.api.SaveInfo save(int domid, java.nio.file.Path file, boolean leavePaused) {
        calls.add("save " + domid + " " + file + " " + leavePaused);
        if (!domains.containsKey(domid)) {
            throw new HypervisorException("no domain with id " + domid);
        }
        if (!leavePaused) {
            domains.remove(domid);
        }
        return new org.xenj.hypervisor.api.SaveInfo(file.toString(), 4096, 3, 5, 12_300_000L, !leavePaused);
    }

    @Override
    public org.xenj.hypervisor.api.MigrationInfo migrate(int domid, String host, int port, boolean live, long downtimeMillis, int maxRounds,
            java.util.function.Consumer<org.xenj.hypervisor.api.MigrationInfo.Progress> progress) {
        calls.add("migrate " + domid + " " + host + " " + port + " " + live + " " + downtimeMillis + " " + maxRounds);
        domains.remove(domid);
        progress.accept(new org.xenj.hypervisor.api.MigrationInfo.Progress("round", 1, 4096, 300, 81.9, 15.0));
        progress.accept(new org.xenj.hypervisor.api.MigrationInfo.Progress("round", 2, 4396, 20, 81.9, 1.0));
        progress.accept(new org.xenj.hypervisor.api.MigrationInfo.Progress("suspending", 0, 4396, 0, 81.9, 0));
        progress.accept(new org.xenj.hypervisor.api.MigrationInfo.Progress("suspended", 0, 4396, 0, 81.9, 12.5));
        progress.accept(new org.xenj.hypervisor.api.MigrationInfo.Progress("stopped", 2, 4416, 20, 81.9, 30.25));
        progress.accept(new org.xenj.hypervisor.api.MigrationInfo.Progress("done", 2, 4416, 0, 81.9, 61.5));
        return new org.xenj.hypervisor.api.MigrationInfo(host + ":" + port, 7, List.of(new org.xenj.hypervisor.api.MigrationInfo.Round(4096, 300,
                40_000_000L), new org.xenj.hypervisor.api.MigrationInfo.Round(300, 20, 5_000_000L)), 20, 4416, 2_500_000, 61_500_000L,
                120_000_000L);
    }

    @Override
    public Domain restore(java.nio.file.Path file, Map<String, String> overrides, boolean paused) {
        calls.add("restore " + file + " " + new java.util.TreeMap<>(overrides) + " " + paused);
        return create(DomainConfig.builder(overrides.getOrDefault("name", "restored")).type(DomainType.HVM).memoryMiB(64).build());
    }

    /** Snapshots the stub answers with, per domain id. */
    final Map<Integer, List<org.xenj.hypervisor.api.SnapshotInfo>> snapshots = new java.util.HashMap<>();

    @Override
    public org.xenj.hypervisor.api.SnapshotInfo snapshotCreate(int domid, String name) {
        calls.add("snapshot-create " + domid + " " + name);
        return new org.xenj.hypervisor.api.SnapshotInfo("w", name, "a", true, 0, 2_000_000_000L, 30_700, 4_200_000L, "/s/" + name);
    }

    @Override
    public List<org.xenj.hypervisor.api.SnapshotInfo> snapshots(int domid) {
        calls.add("snapshots " + domid);
        return snapshots.getOrDefault(domid, List.of());
    }

    @Override
    public org.xenj.hypervisor.api.SnapshotInfo snapshotRevert(int domid, String name) {
        calls.add("snapshot-revert " + domid + " " + name);
        if (name.equals("nope")) {
            throw new HypervisorException("domain " + domid + " has no snapshot named 'nope'");
        }
        return new org.xenj.hypervisor.api.SnapshotInfo("w", name, null, true, 0, 0, 30_700, 6_600_000L, "/s/" + name);
    }

    @Override
    public void snapshotDelete(int domid, String name) {
        calls.add("snapshot-delete " + domid + " " + name);
    }

    @Override
    public Domain cloneDomain(int domid, String snapshot, String newName) {
        calls.add("clone " + domid + " " + snapshot + " " + newName);
        DomainConfig from = domains.get(domid).config;
        return create(DomainConfig.builder(newName).type(DomainType.HVM).memoryMiB(64).raw(from.raw()).build());
    }

    @Override public void clearDmesg() { calls.add("clearDmesg"); log.clear(); }
    @Override public ConsoleAccess console(int domid) { return console; }
    @Override public CpuPools cpupools() { return cpupools; }
    @Override public void addListener(DomainListener listener) { }
    @Override public void removeListener(DomainListener listener) { }

    class StubPools implements CpuPools {

    @Override public List<CpuPoolInfo> list() { return new ArrayList<>(pools.values()); }

    @Override
    public CpuPoolInfo create(String name, String scheduler, int[] pcpus) {
        calls.add("cpupool-create " + name + " " + scheduler + " " + Formats.join(pcpus));
        CpuPoolInfo p = new CpuPoolInfo(pools.size(), name, scheduler, pcpus, 0);
        pools.put(name, p);
        return p;
    }

    @Override public void destroy(String name) { calls.add("cpupool-destroy " + name); pools.remove(name); }
    @Override public void migrate(int domid, String pool) { calls.add("migrate " + domid + " " + pool); domains.get(domid).pool = pool; }
    @Override public void setScheduler(String pool, String scheduler) { calls.add("sched " + pool + " " + scheduler); }

    @Override
    public Map<String, String> domainParams(int domid) {
        return domainParams.getOrDefault(domid, Map.of("weight", "256", "cap", "0"));
    }

    @Override public void setDomainParams(int domid, Map<String, String> params) { calls.add("domain-params " + domid + " " + new java.util.TreeMap<>(params)); domainParams.put(domid, params); }
    @Override public Map<String, String> poolParams(String pool) { return poolParams.getOrDefault(pool, Map.of()); }
    @Override public void setPoolParams(String pool, Map<String, String> params) { calls.add("pool-params " + pool + " " + new java.util.TreeMap<>(params)); }
    }
}
