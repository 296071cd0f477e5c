package org.xenj.pool.internal.record;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;

/**
 * The typed part of a {@link DomainConfig} as xl.cfg keys and back, so that any host can rebuild
 * exactly the configuration the domain was added with (the raw keys travel as they are).
 */
public final class DomainConfigCodec {

    private DomainConfigCodec() {
    }

    public static Map<String, String> typedKeys(DomainConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("type", c.type().name().toLowerCase(Locale.ROOT));
        m.put("memory", Long.toString(c.memoryMiB()));
        m.put("maxmem", Long.toString(c.maxMemoryMiB()));
        m.put("vcpus", Integer.toString(c.vcpus()));
        putIf(m, "kernel", c.kernel());
        putIf(m, "ramdisk", c.ramdisk());
        m.put("cmdline", c.cmdline());
        m.put("on_poweroff", c.onPoweroff().xlName());
        m.put("on_reboot", c.onReboot().xlName());
        m.put("on_crash", c.onCrash().xlName());
        m.put("cpu_weight", Integer.toString(c.cpuWeight()));
        m.put("cap", Integer.toString(c.cap()));
        m.put("pool", c.pool());
        putIf(m, "cpus", c.cpus());
        putIf(m, "workload", c.workload());
        return m;
    }

    private static void putIf(Map<String, String> m, String k, String v) {
        if (v != null) {
            m.put(k, v);
        }
    }

    public static DomainConfig fromKeys(String name, Map<String, String> typed, List<String> disks, List<String> vifs,
            Map<String, String> raw) throws RecordException {
        DomainType type;
        String t = require(typed, "type");
        try {
            type = DomainType.valueOf(t.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new RecordException("config key 'type': unknown domain type '" + t + "'");
        }
        if (type == DomainType.DOM0) {
            throw new RecordException("config key 'type': Domain-0 cannot be a pool domain");
        }
        long memory = number(typed, "memory", 1, 1 << 20);
        long maxmem = number(typed, "maxmem", 1, 1 << 20);
        int vcpus = (int) number(typed, "vcpus", 1, 128);
        int weight = (int) number(typed, "cpu_weight", 1, 65535);
        int cap = (int) number(typed, "cap", 0, 51200);
        try {
            return build(name, typed, type, memory, maxmem, vcpus, weight, cap, disks, vifs, raw);
        } catch (IllegalArgumentException e) {
            throw new RecordException("config: " + e.getMessage());
        }
    }

    private static DomainConfig build(String name, Map<String, String> typed, DomainType type, long memory, long maxmem, int vcpus,
            int weight, int cap, List<String> disks, List<String> vifs, Map<String, String> raw) throws RecordException {
        return DomainConfig.builder(name).type(type).memoryMiB(memory).maxMemoryMiB(maxmem).vcpus(vcpus)
                .kernel(typed.get("kernel")).ramdisk(typed.get("ramdisk")).cmdline(typed.getOrDefault("cmdline", ""))
                .onPoweroff(action(typed, "on_poweroff")).onReboot(action(typed, "on_reboot")).onCrash(action(typed, "on_crash"))
                .cpuWeight(weight).cap(cap).pool(require(typed, "pool")).cpus(typed.get("cpus")).workload(typed.get("workload"))
                .disks(disks).vifs(vifs).raw(raw).build();
    }

    private static String require(Map<String, String> m, String key) throws RecordException {
        String v = m.get(key);
        if (v == null) {
            throw new RecordException("config key '" + key + "' is missing");
        }
        return v;
    }

    private static long number(Map<String, String> m, String key, long min, long max) throws RecordException {
        String v = require(m, key);
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new RecordException("config key '" + key + "': '" + v + "' is not a number");
        }
        if (n < min || n > max) {
            throw new RecordException("config key '" + key + "': " + n + " is outside " + min + ".." + max);
        }
        return n;
    }

    private static ShutdownAction action(Map<String, String> m, String key) throws RecordException {
        try {
            return ShutdownAction.parse(require(m, key));
        } catch (IllegalArgumentException e) {
            throw new RecordException("config key '" + key + "': " + e.getMessage());
        }
    }
}
