package org.xenj.dom0.toolstack.internal.command;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;

/** Domains and configurations as ordered maps, for the JSON of {@code list -l} and {@code create -n}. */
final class DomainViews {

    private DomainViews() {
    }

    static Map<String, Object> domain(Domain d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("domid", d.id());
        m.put("name", d.name());
        m.put("uuid", String.valueOf(d.uuid()));
        m.put("type", d.type().name().toLowerCase(Locale.ROOT));
        m.put("state", d.state().name().toLowerCase(Locale.ROOT));
        m.put("vcpus", d.vcpus());
        m.put("memory_kib", d.memoryKiB());
        m.put("maxmem_kib", d.maxMemoryKiB());
        m.put("pool", d.pool());
        m.put("uptime_s", Double.valueOf(Formats.seconds(d.uptimeNanos())));
        m.put("cpu_time_s", Double.valueOf(Formats.seconds(d.cpuTimeNanos())));
        m.put("shutdown_reason", d.shutdownReason() == null ? null : d.shutdownReason().name().toLowerCase(Locale.ROOT));
        DomainConfig c = d.config();
        m.put("config", c == null ? null : config(c));
        return m;
    }

    static Map<String, Object> config(DomainConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", c.name());
        m.put("type", c.type().name().toLowerCase(Locale.ROOT));
        m.put("memory", c.memoryMiB());
        m.put("maxmem", c.maxMemoryMiB());
        m.put("vcpus", c.vcpus());
        m.put("kernel", c.kernel());
        m.put("ramdisk", c.ramdisk());
        m.put("cmdline", c.cmdline());
        m.put("disk", c.disks());
        m.put("vif", c.vifs());
        m.put("on_poweroff", c.onPoweroff().xlName());
        m.put("on_reboot", c.onReboot().xlName());
        m.put("on_crash", c.onCrash().xlName());
        m.put("cpu_weight", c.cpuWeight());
        m.put("cap", c.cap());
        m.put("pool", c.pool());
        m.put("cpus", c.cpus());
        m.put("workload", c.workload());
        m.put("paused", c.startPaused());
        m.put("raw", c.raw());
        return m;
    }
}
