package org.xenj.dom0.toolstack.internal.command;

import java.util.Map;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.xenj.hypervisor.api.CpuPoolInfo;
import org.xenj.hypervisor.api.CpuPools;

@Service
@Command(scope = "xen", name = "sched-rr", description = "Shows or sets the round-robin scheduler's slice (-p pool [-s slice_ms])")
public class SchedRrCommand extends XenCommand {

    static final String SCHEDULER = "rr";

    @Option(name = "-p", aliases = "--cpupool", description = "Pool (default: every rr pool)")
    @Completion(PoolCompleter.class)
    String pool;

    @Option(name = "-s", aliases = "--slice_ms", description = "Slice in ms")
    Integer slice;

    @Option(name = "--no-format", description = "Plain tab-separated output, for scripts")
    boolean noFormat;

    @Override
    protected void run() {
        CpuPools pools = hypervisor.cpupools();
        if (slice != null) {
            if (pool == null) {
                throw new IllegalArgumentException("-s needs -p <pool>");
            }
            if (slice < 1) {
                throw new IllegalArgumentException("slice must be at least 1 ms, was " + slice);
            }
            pools.setPoolParams(pool, Map.of("slice_ms", slice.toString()));
            return;
        }
        ShellTable t = new ShellTable();
        t.column("Cpupool");
        t.column("Slice(ms)").alignRight();
        for (CpuPoolInfo p : pools.list()) {
            if ((pool == null && SCHEDULER.equals(p.scheduler())) || p.name().equals(pool)) {
                t.addRow().addContent(p.name(), pools.poolParams(p.name()).getOrDefault("slice_ms", "-"));
            }
        }
        t.print(out(), !noFormat);
    }
}
