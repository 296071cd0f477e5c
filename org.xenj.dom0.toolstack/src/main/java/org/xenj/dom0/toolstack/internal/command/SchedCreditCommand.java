package org.xenj.dom0.toolstack.internal.command;

import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.xenj.hypervisor.api.CpuPoolInfo;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "sched-credit", description = "Shows or sets credit scheduler parameters (xl sched-credit)",
        detailedDescription = "No option: every domain in a credit pool with its weight and cap. "
                + "-d dom [-w weight] [-c cap]: a domain's. -p pool [-t tslice_ms] [-r ratelimit_us]: a pool's.")
public class SchedCreditCommand extends XenCommand {

    static final String SCHEDULER = "credit";

    @Option(name = "-d", aliases = "--domain", description = "Domain name or id")
    @Completion(DomainCompleter.class)
    String domain;

    @Option(name = "-w", aliases = "--weight", description = "Weight 1..65535 (default 256)")
    Integer weight;

    @Option(name = "-c", aliases = "--cap", description = "Cap in % of one pCPU (0 = none)")
    Integer cap;

    @Option(name = "-p", aliases = "--cpupool", description = "Pool for -t / -r")
    @Completion(PoolCompleter.class)
    String pool;

    @Option(name = "-t", aliases = "--tslice_ms", description = "Timeslice in ms")
    Integer tslice;

    @Option(name = "-r", aliases = "--ratelimit_us", description = "Rate limit in microseconds")
    Integer ratelimit;

    @Option(name = "--no-format", description = "Plain tab-separated output, for scripts")
    boolean noFormat;

    @Override
    protected void run() {
        CpuPools pools = hypervisor.cpupools();
        if ((weight != null || cap != null) && domain == null) {
            throw new IllegalArgumentException("-w and -c need -d <domain>");
        }
        if ((tslice != null || ratelimit != null) && pool == null) {
            throw new IllegalArgumentException("-t and -r need -p <pool>");
        }
        if (pool != null) {
            pool(pools);
            if (domain == null) {
                return;
            }
        }
        if (domain != null) {
            Domain d = domain(domain);
            Map<String, String> set = new LinkedHashMap<>();
            if (weight != null) {
                if (weight < 1 || weight > 65535) {
                    throw new IllegalArgumentException("weight must be 1..65535, was " + weight);
                }
                set.put("weight", weight.toString());
            }
            if (cap != null) {
                if (cap < 0) {
                    throw new IllegalArgumentException("cap must be >= 0, was " + cap);
                }
                set.put("cap", cap.toString());
            }
            if (!set.isEmpty()) {
                pools.setDomainParams(d.id(), set);
                return;
            }
            ShellTable t = domainTable();
            addDomain(t, pools, d);
            t.print(out(), !noFormat);
            return;
        }
        for (CpuPoolInfo p : pools.list()) {
            if (!SCHEDULER.equals(p.scheduler())) {
                continue;
            }
            Map<String, String> pp = pools.poolParams(p.name());
            out().println("Cpupool " + p.name() + ": tslice=" + pp.getOrDefault("tslice_ms", "?") + "ms ratelimit="
                    + pp.getOrDefault("ratelimit_us", "?") + "us");
            ShellTable t = domainTable();
            for (Domain d : hypervisor.list()) {
                // Domain-0 runs no guest code, so no scheduler holds parameters for it.
                if (p.name().equals(d.pool()) && !d.isPrivileged()) {
                    addDomain(t, pools, d);
                }
            }
            t.print(out(), !noFormat);
        }
    }

    private void pool(CpuPools pools) {
        Map<String, String> set = new LinkedHashMap<>();
        if (tslice != null) {
            set.put("tslice_ms", tslice.toString());
        }
        if (ratelimit != null) {
            set.put("ratelimit_us", ratelimit.toString());
        }
        if (!set.isEmpty()) {
            pools.setPoolParams(pool, set);
            return;
        }
        Map<String, String> pp = pools.poolParams(pool);
        out().println("Cpupool " + pool + ": tslice=" + pp.getOrDefault("tslice_ms", "?") + "ms ratelimit="
                + pp.getOrDefault("ratelimit_us", "?") + "us");
    }

    private static ShellTable domainTable() {
        ShellTable t = new ShellTable();
        t.column("Name");
        t.column("ID").alignRight();
        t.column("Weight").alignRight();
        t.column("Cap").alignRight();
        return t;
    }

    private static void addDomain(ShellTable t, CpuPools pools, Domain d) {
        Map<String, String> p = pools.domainParams(d.id());
        t.addRow().addContent(d.name(), d.id(), p.getOrDefault("weight", "-"), p.getOrDefault("cap", "-"));
    }
}
