package org.xenj.dom0.toolstack.internal.command;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.DiskSpecException;
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
        m.put("exit_code", d.exitCode().isPresent() ? Integer.valueOf(d.exitCode().getAsInt()) : null);
        DomainConfig c = d.config();
        m.put("config", c == null ? null : config(c));
        return m;
    }

    /** Disks as parsed (target, format, vdev, access, devtype, Xen device number). */
    static List<Object> disks(List<String> specs) {
        List<Object> out = new ArrayList<>();
        for (String spec : specs) {
            Map<String, Object> m = new LinkedHashMap<>();
            try {
                DiskSpec d = DiskSpec.parse(spec);
                m.put("target", d.target());
                m.put("format", d.format().xlName());
                m.put("vdev", d.vdev());
                m.put("access", d.readOnly() ? "ro" : "rw");
                m.put("devtype", d.cdrom() ? "cdrom" : "disk");
                m.put("devid", d.deviceNumber());
            } catch (DiskSpecException e) {
                m.put("spec", spec); // not from xl.cfg (the API accepts any string): shown as given
                m.put("error", e.getMessage());
            }
            out.add(m);
        }
        return out;
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
        m.put("disk", disks(c.disks()));
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
