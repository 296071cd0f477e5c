package org.xenj.dom0.toolstack.internal.command;

import java.util.List;
import java.util.Optional;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.dom0.vnc.api.VncConsoles;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "vnc-info", description = "Where to connect a VNC viewer to a domain's screen (xl vncviewer's address)")
public class VncInfoCommand extends XenCommand {

    @Reference(optional = true)
    List<VncConsoles> consoles;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Override
    protected void run() {
        Domain d = domain(domain);
        if (consoles == null || consoles.isEmpty()) {
            throw new IllegalStateException("the VNC consoles (feature xenj-vnc) are not running");
        }
        Optional<VncConsoles.Endpoint> e = consoles.get(0).endpoint(d.id());
        if (e.isEmpty()) {
            throw new IllegalStateException(d.name() + " has no display (set vga=\"stdvga\" or vnc=1 in its configuration)");
        }
        VncConsoles.Endpoint p = e.get();
        if (p.port() < 0) {
            out().println(d.name() + ": " + p.device() + " " + p.width() + "x" + p.height()
                    + ", no VNC server (vnc=1 in the configuration starts one)");
            return;
        }
        out().println(d.name() + ": vnc://" + p.host() + ":" + p.port() + " (display :" + p.display() + ", " + p.device() + " "
                + p.width() + "x" + p.height() + (p.password() ? ", password" : "") + (p.shared() ? ", shared" : "")
                + ", " + p.clients() + " client" + (p.clients() == 1 ? "" : "s") + ")");
    }
}
