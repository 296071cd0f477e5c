package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code xl debug-keys}: the answers go to the hypervisor log, read them with xen:dmesg. */
@Service
@Command(scope = "xen", name = "debug-keys", description = "Sends debug keys to the hypervisor (xl debug-keys): h lists them, "
        + "d dumps vCPU registers, interrupt controllers and timers, q domain info; see xen:dmesg")
public class DebugKeysCommand extends XenCommand {

    @Argument(index = 0, name = "keys", description = "The keys, e.g. dq", required = true)
    String keys;

    @Override
    protected void run() {
        hypervisor.debugKeys(keys);
    }
}
