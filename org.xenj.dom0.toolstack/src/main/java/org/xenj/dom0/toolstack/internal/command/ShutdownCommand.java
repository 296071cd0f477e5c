package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.ShutdownReason;

@Service
@Command(scope = "xen", name = "shutdown", description = "Asks a domain to shut down (xl shutdown)")
public class ShutdownCommand extends XenCommand {

    @Option(name = "-w", aliases = "--wait", description = "Wait until the domain has shut down")
    boolean waitForIt;

    @Option(name = "-t", aliases = "--timeout", description = "Seconds to wait with -w (default 60)")
    int timeoutSeconds = 60;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Override
    protected void run() throws InterruptedException {
        Domain d = domain(domain);
        if (d.isPrivileged()) {
            throw new IllegalArgumentException("Domain-0 is shut down by stopping xenj (./xenj stop)");
        }
        hypervisor.shutdown(d.id(), ShutdownReason.POWEROFF);
        if (!waitForIt) {
            return;
        }
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            var now = hypervisor.lookup(d.id());
            if (now.isEmpty() || now.get().state() == DomainState.SHUTDOWN || now.get().state() == DomainState.DYING) {
                out().println("Domain " + d.name() + " has shut down");
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("domain " + d.name() + " did not shut down within " + timeoutSeconds + " s");
    }
}
