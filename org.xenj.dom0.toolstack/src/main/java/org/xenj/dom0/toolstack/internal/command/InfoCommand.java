package org.xenj.dom0.toolstack.internal.command;

import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.VirtualSwitch;
import org.xenj.hypervisor.api.HostInfo;

@Service
@Command(scope = "xen", name = "info", description = "Shows the host: pCPUs, memory, schedulers (xl info)")
public class InfoCommand extends XenCommand {

    /** The virtual switch, when its bundle is installed: one line per bridge. */
    @Reference(optional = true)
    VirtualSwitch vswitch;

    @Override
    protected void run() {
        HostInfo h = hypervisor.info();
        Map<String, Object> rows = new LinkedHashMap<>();
        rows.put("host", h.hostname());
        rows.put("nr_cpus", h.nrPcpus());
        rows.put("total_memory", Formats.mib(h.totalMemoryKiB()));
        rows.put("free_memory", Formats.mib(h.freeMemoryKiB()));
        rows.put("xen_version", h.xenVersion());
        rows.put("xen_caps", h.xenCaps());
        rows.put("xen_scheduler", h.defaultScheduler());
        rows.put("schedulers", String.join(" ", h.availableSchedulers()));
        rows.put("nr_domains", hypervisor.list().size());
        rows.put("uptime_s", Formats.seconds(h.uptimeNanos()));
        if (vswitch != null) {
            for (Bridge b : vswitch.bridges()) {
                rows.put("bridge " + b.name(), b.ports().size() + " ports, " + b.macTable().size() + " MACs, host " + b.hostLink());
            }
        }
        rows.forEach((k, v) -> out().printf("%-22s: %s%n", k, v));
    }
}
