package org.xenj.hypervisor.api;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A domain's configuration: the typed subset of xl.cfg the hypervisor acts on, plus every key as
 * written ({@link #raw()}) so that device models and backends can read their own keys
 * (e.g. {@code serial}, {@code vnc}). Immutable; build with {@link #builder(String)}.
 */
public final class DomainConfig {

    private final String name;
    private final DomainType type;
    private final long memoryMiB;
    private final long maxMemoryMiB;
    private final int vcpus;
    private final String kernel;
    private final String ramdisk;
    private final String cmdline;
    private final List<String> disks;
    private final List<String> vifs;
    private final ShutdownAction onPoweroff;
    private final ShutdownAction onReboot;
    private final ShutdownAction onCrash;
    private final int cpuWeight;
    private final int cap;
    private final String pool;
    private final String cpus;
    private final boolean startPaused;
    private final String workload;
    private final Map<String, String> raw;

    private DomainConfig(Builder b) {
        this.name = b.name;
        this.type = b.type;
        this.memoryMiB = b.memoryMiB;
        this.maxMemoryMiB = Math.max(b.maxMemoryMiB, b.memoryMiB);
        this.vcpus = b.vcpus;
        this.kernel = b.kernel;
        this.ramdisk = b.ramdisk;
        this.cmdline = b.cmdline;
        this.disks = List.copyOf(b.disks);
        this.vifs = List.copyOf(b.vifs);
        this.onPoweroff = b.onPoweroff;
        this.onReboot = b.onReboot;
        this.onCrash = b.onCrash;
        this.cpuWeight = b.cpuWeight;
        this.cap = b.cap;
        this.pool = b.pool;
        this.cpus = b.cpus;
        this.startPaused = b.startPaused;
        this.workload = b.workload;
        this.raw = Map.copyOf(new TreeMap<>(b.raw));
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** A builder holding this configuration, to derive a changed copy. */
    public Builder toBuilder() {
        Builder b = new Builder(name);
        b.type = type;
        b.memoryMiB = memoryMiB;
        b.maxMemoryMiB = maxMemoryMiB;
        b.vcpus = vcpus;
        b.kernel = kernel;
        b.ramdisk = ramdisk;
        b.cmdline = cmdline;
        b.disks = List.copyOf(disks);
        b.vifs = List.copyOf(vifs);
        b.onPoweroff = onPoweroff;
        b.onReboot = onReboot;
        b.onCrash = onCrash;
        b.cpuWeight = cpuWeight;
        b.cap = cap;
        b.pool = pool;
        b.cpus = cpus;
        b.startPaused = startPaused;
        b.workload = workload;
        b.raw = new TreeMap<>(raw);
        return b;
    }

    public String name() { return name; }
    public DomainType type() { return type; }
    public long memoryMiB() { return memoryMiB; }
    public long maxMemoryMiB() { return maxMemoryMiB; }
    public int vcpus() { return vcpus; }
    /** Kernel image path (bzImage, ELF or multiboot), or {@code null}. */
    public String kernel() { return kernel; }
    public String ramdisk() { return ramdisk; }
    /** Kernel command line; xl's {@code extra} is appended by the parser. */
    public String cmdline() { return cmdline; }
    /** xl disk specs as written, e.g. {@code "file:/x.img,xvda,w"}. */
    public List<String> disks() { return disks; }
    public List<String> vifs() { return vifs; }
    public ShutdownAction onPoweroff() { return onPoweroff; }
    public ShutdownAction onReboot() { return onReboot; }
    public ShutdownAction onCrash() { return onCrash; }
    /** Credit weight, 1..65535 (xl {@code cpu_weight}). */
    public int cpuWeight() { return cpuWeight; }
    /** Credit cap in percent of one pCPU; 0 = none. */
    public int cap() { return cap; }
    public String pool() { return pool; }
    /** xl {@code cpus}: hard affinity, e.g. {@code "0-1,3"}; {@code null} = any. */
    public String cpus() { return cpus; }
    public boolean startPaused() { return startPaused; }
    /** For {@link DomainType#WORKLOAD}: {@code spin}, {@code idle} or {@code duty:<percent>}. */
    public String workload() { return workload; }
    /** Every key of the source file as written (values unquoted), sorted by key. */
    public Map<String, String> raw() { return raw; }

    @Override
    public String toString() {
        return "DomainConfig[" + name + ", " + type + ", " + memoryMiB + " MiB, " + vcpus + " vcpus]";
    }

    /** Mutable builder; defaults follow xl: 1 vCPU, 128 MiB, destroy/restart/destroy, weight 256. */
    public static final class Builder {
        private String name;
        private DomainType type = DomainType.HVM;
        private long memoryMiB = 128;
        private long maxMemoryMiB;
        private int vcpus = 1;
        private String kernel;
        private String ramdisk;
        private String cmdline = "";
        private List<String> disks = List.of();
        private List<String> vifs = List.of();
        private ShutdownAction onPoweroff = ShutdownAction.DESTROY;
        private ShutdownAction onReboot = ShutdownAction.RESTART;
        private ShutdownAction onCrash = ShutdownAction.DESTROY;
        private int cpuWeight = 256;
        private int cap;
        private String pool = CpuPools.DEFAULT_POOL;
        private String cpus;
        private boolean startPaused;
        private String workload;
        private Map<String, String> raw = new TreeMap<>();

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
        }

        public Builder name(String v) { this.name = Objects.requireNonNull(v); return this; }
        public Builder type(DomainType v) { this.type = Objects.requireNonNull(v); return this; }
        public Builder memoryMiB(long v) { this.memoryMiB = v; return this; }
        public Builder maxMemoryMiB(long v) { this.maxMemoryMiB = v; return this; }
        public Builder vcpus(int v) { this.vcpus = v; return this; }
        public Builder kernel(String v) { this.kernel = v; return this; }
        public Builder ramdisk(String v) { this.ramdisk = v; return this; }
        public Builder cmdline(String v) { this.cmdline = v == null ? "" : v; return this; }
        public Builder disks(List<String> v) { this.disks = List.copyOf(v); return this; }
        public Builder vifs(List<String> v) { this.vifs = List.copyOf(v); return this; }
        public Builder onPoweroff(ShutdownAction v) { this.onPoweroff = Objects.requireNonNull(v); return this; }
        public Builder onReboot(ShutdownAction v) { this.onReboot = Objects.requireNonNull(v); return this; }
        public Builder onCrash(ShutdownAction v) { this.onCrash = Objects.requireNonNull(v); return this; }
        public Builder cpuWeight(int v) { this.cpuWeight = v; return this; }
        public Builder cap(int v) { this.cap = v; return this; }
        public Builder pool(String v) { this.pool = Objects.requireNonNull(v); return this; }
        public Builder cpus(String v) { this.cpus = v; return this; }
        public Builder startPaused(boolean v) { this.startPaused = v; return this; }
        public Builder workload(String v) { this.workload = v; return this; }
        public Builder raw(Map<String, String> v) { this.raw = new TreeMap<>(v); return this; }

        public DomainConfig build() {
            if (vcpus < 1 || vcpus > 128) {
                throw new IllegalArgumentException("vcpus must be 1..128, was " + vcpus);
            }
            if (memoryMiB < 1) {
                throw new IllegalArgumentException("memory must be at least 1 MiB, was " + memoryMiB);
            }
            if (cpuWeight < 1 || cpuWeight > 65535) {
                throw new IllegalArgumentException("cpu_weight must be 1..65535, was " + cpuWeight);
            }
            if (cap < 0) {
                throw new IllegalArgumentException("cap must be >= 0, was " + cap);
            }
            return new DomainConfig(this);
        }
    }
}
