package org.xenj.dom0.toolstack.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.Hypervisor;

@Service
@Command(scope = "xen", name = "console", description = "Attaches to a domain's console (xl console); Ctrl+] detaches")
public class ConsoleCommand extends XenCommand {

    @Option(name = "-H", aliases = "--history", description = "Print what the console kept and return (no attach)")
    boolean historyOnly;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Reference(optional = true)
    Session session;

    @Override
    protected void run() throws Exception {
        Domain d = domain(domain);
        if (historyOnly) {
            out().write(hypervisor.console(d.id()).history());
            out().flush();
            return;
        }
        new Attach(hypervisor, d, session, out()).run();
    }

    /** Attaching, shared with {@code xen:create -c}. */
    static final class Attach {
        private final Hypervisor hypervisor;
        private final Domain domain;
        private final Session session;
        private final PrintStream out;

        Attach(Hypervisor hypervisor, Domain domain, Session session, PrintStream out) {
            this.hypervisor = hypervisor;
            this.domain = domain;
            this.session = session;
            this.out = out;
        }

        void run() throws Exception {
            int id = domain.id();
            out.print("[xen:console: attached to " + domain.name() + "; Ctrl+] detaches]\r\n");
            out.flush();
            RawTerminal raw = RawTerminal.enter(session);
            ConsoleBridge.End end;
            try {
                KeyInput keys = raw != null ? raw.keys()
                        : KeyInput.polling(session != null ? session.getKeyboard() : System.in);
                end = new ConsoleBridge(hypervisor.console(id), keys, out,
                        () -> hypervisor.lookup(id).isPresent()).run();
            } finally {
                if (raw != null) {
                    raw.close();
                }
            }
            out.print(end == ConsoleBridge.End.DOMAIN_GONE
                    ? "\r\n[xen:console: domain " + domain.name() + " is gone]\r\n"
                    : "\r\n[xen:console: detached]\r\n");
            out.flush();
        }
    }
}
