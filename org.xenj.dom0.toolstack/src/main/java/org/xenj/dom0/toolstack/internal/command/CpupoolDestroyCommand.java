package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.CpuPools;

@Service
@Command(scope = "xen", name = "cpupool-destroy", description = "Destroys an empty cpupool; its pCPUs return to Pool-0")
public class CpupoolDestroyCommand extends XenCommand {

    @Argument(index = 0, name = "pool", required = true, description = "Pool name")
    @Completion(PoolCompleter.class)
    String pool;

    @Override
    protected void run() {
        if (CpuPools.DEFAULT_POOL.equals(pool)) {
            throw new IllegalArgumentException(CpuPools.DEFAULT_POOL + " cannot be destroyed");
        }
        hypervisor.cpupools().destroy(pool);
    }
}
