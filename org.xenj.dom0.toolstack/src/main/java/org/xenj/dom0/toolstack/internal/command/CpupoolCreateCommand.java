package org.xenj.dom0.toolstack.internal.command;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;
import org.xenj.dom0.toolstack.internal.xlcfg.XlConfigException;
import org.xenj.dom0.toolstack.internal.xlcfg.XlConfigLoader;
import org.xenj.dom0.toolstack.internal.xlcfg.XlConfigReader;
import org.xenj.dom0.toolstack.internal.xlcfg.XlSetting;
import org.xenj.hypervisor.api.CpuPoolInfo;
import org.xenj.hypervisor.api.CpuPools;

@Service
@Command(scope = "xen", name = "cpupool-create", description = "Creates a cpupool (xl cpupool-create [file] name=... sched=... cpus=...)",
        detailedDescription = "Keys: name (required), sched (default: the host's default scheduler), "
                + "cpus (\"1-2\" or [\"1\",\"2\"]) or nr_cpus (that many pCPUs taken from Pool-0).")
public class CpupoolCreateCommand extends XenCommand {

    static final String COMMAND_LINE = "command line";

    @Argument(index = 0, name = "file-or-key=value", description = "xl-style pool file and/or key=value", multiValued = true, required = true)
    List<String> args;

    @Reference(optional = true)
    Session session;

    @Override
    protected void run() {
        Map<String, XlSetting> s = settings();
        XlSetting name = require(s, "name");
        String scheduler = s.containsKey("sched") ? scalar(s.get("sched")) : hypervisor.info().defaultScheduler();
        int[] cpus = cpus(s);
        CpuPoolInfo p = hypervisor.cpupools().create(scalar(name), scheduler, cpus);
        out().println("Created cpupool " + p.name() + " (id " + p.id() + ", " + p.scheduler() + ", cpus "
                + Formats.cpuList(p.pcpus()) + ")");
    }

    private Map<String, XlSetting> settings() {
        List<String> rest = new ArrayList<>(args);
        String first = rest.get(0);
        if (!first.contains("=") || Files.isRegularFile(resolve(first))) {
            rest.remove(0);
            return XlConfigLoader.readSettings(resolve(first), rest);
        }
        Map<String, XlSetting> s = XlConfigReader.read(COMMAND_LINE, "");
        for (String o : rest) {
            XlConfigReader.readOverride(COMMAND_LINE, o, s);
        }
        return s;
    }

    private int[] cpus(Map<String, XlSetting> s) {
        XlSetting cpus = s.get("cpus");
        XlSetting nr = s.get("nr_cpus");
        if (cpus != null && nr != null) {
            throw XlConfigException.at(nr, "give cpus or nr_cpus, not both");
        }
        if (cpus != null) {
            try {
                return Formats.parseCpuList(String.join(",", cpus.value().asItems()));
            } catch (IllegalArgumentException e) {
                throw XlConfigException.at(cpus, e.getMessage());
            }
        }
        if (nr == null) {
            throw new XlConfigException(COMMAND_LINE, 0, "cpus", "missing: give cpus=\"...\" or nr_cpus=N");
        }
        int n;
        try {
            n = Integer.parseInt(scalar(nr));
        } catch (NumberFormatException e) {
            throw XlConfigException.at(nr, "expected a number of pCPUs, got \"" + scalar(nr) + "\"");
        }
        int[] free = hypervisor.cpupools().list().stream()
                .filter(p -> CpuPools.DEFAULT_POOL.equals(p.name())).findFirst()
                .map(CpuPoolInfo::pcpus).orElse(new int[0]);
        // Pool-0 keeps its first pCPU: Domain-0's work runs there.
        if (n < 1 || n > free.length - 1) {
            throw XlConfigException.at(nr, "Pool-0 can spare 1.." + Math.max(0, free.length - 1) + " pCPUs, not " + n);
        }
        int[] taken = new int[n];
        System.arraycopy(free, free.length - n, taken, 0, n);
        return taken;
    }

    private static XlSetting require(Map<String, XlSetting> s, String key) {
        XlSetting v = s.get(key);
        if (v == null) {
            throw new XlConfigException(COMMAND_LINE, 0, key, "missing");
        }
        return v;
    }

    private static String scalar(XlSetting s) {
        if (s.value().isList()) {
            throw XlConfigException.at(s, "expected a single value, got a list");
        }
        return s.value().text();
    }

    private Path resolve(String name) {
        Path p = Path.of(name);
        if (!p.isAbsolute() && session != null && session.currentDir() != null) {
            return session.currentDir().resolve(p);
        }
        return p;
    }
}
