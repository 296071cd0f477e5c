package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "xen", name = "dmesg", description = "Prints the hypervisor's log ring (xl dmesg)")
public class DmesgCommand extends XenCommand {

    @Option(name = "-c", aliases = "--clear", description = "Clear the ring after printing it")
    boolean clear;

    @Override
    protected void run() {
        for (String line : hypervisor.dmesg()) {
            out().println(line);
        }
        if (clear) {
            hypervisor.clearDmesg();
        }
    }
}
