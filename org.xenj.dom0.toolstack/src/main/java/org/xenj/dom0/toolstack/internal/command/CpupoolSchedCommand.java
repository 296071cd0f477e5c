package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "xen", name = "cpupool-sched", description = "Switches a live cpupool to another scheduler; every vCPU is handed over")
public class CpupoolSchedCommand extends XenCommand {

    @Argument(index = 0, name = "pool", required = true, description = "Pool name")
    @Completion(PoolCompleter.class)
    String pool;

    @Argument(index = 1, name = "scheduler", required = true, description = "Scheduler name, e.g. credit or rr")
    @Completion(SchedulerCompleter.class)
    String scheduler;

    @Override
    protected void run() {
        long start = System.nanoTime();
        hypervisor.cpupools().setScheduler(pool, scheduler);
        out().printf("Cpupool %s now scheduled by %s (switch took %.3f ms)%n", pool, scheduler,
                (System.nanoTime() - start) / 1e6);
    }
}
