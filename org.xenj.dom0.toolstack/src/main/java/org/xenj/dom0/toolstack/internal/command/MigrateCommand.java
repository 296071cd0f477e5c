package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.MigrationInfo;

@Service
@Command(scope = "xen", name = "migrate", description = "Moves a running domain to another xenj (xl migrate)",
        detailedDescription = "xen:migrate <domain> <host>[:port] [--non-live] [--downtime ms] [--rounds n]: rounds of dirty pages "
                + "while the domain runs, then a short pause for the last pages and the device state; the destination resumes it and "
                + "only then is it destroyed here. The destination must receive (xenj.migrate.listen=true) and both hosts share "
                + "xenj.migrate.secret. localhost works. Any failure leaves the domain running here. A pool domain (xen:list --pool) "
                + "is migrated through the pool: <host> is a pool member, and the pool's lease and registry move with it in one step.")
public class MigrateCommand extends XenCommand {

    static final int DEFAULT_PORT = 8002;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "host", description = "Destination host[:port] (port " + DEFAULT_PORT + " by default)", required = true)
    String host;

    @Option(name = "--non-live", description = "Pause first and copy everything once (no pre-copy rounds)")
    boolean nonLive;

    @Option(name = "--downtime", description = "Target pause in ms: pre-copy stops when the dirty set fits it (default 100)")
    long downtimeMillis = 100;

    @Option(name = "--rounds", description = "Most pre-copy rounds (default 30)")
    int rounds = 30;

    @Override
    protected void run() {
        if (!domain.matches("[0-9]+") && PoolView.isPoolDomain(domain)) {
            // a pool domain: <host> is a pool member; its lease moves with it (xenj-pool feature)
            PoolView.migrate(domain, host.trim(), out());
            return;
        }
        String h = host.trim();
        int port = DEFAULT_PORT;
        int colon = h.lastIndexOf(':');
        if (colon > 0 && h.indexOf(':') == colon) { // host:port (a bare IPv6 address has several colons)
            try {
                port = Integer.parseInt(h.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a port: '" + h.substring(colon + 1) + "' in " + host);
            }
            h = h.substring(0, colon);
        }
        Domain d = domain(domain);
        // progress as it runs: each round, then the steps of the stop (a PVHVM guest suspends itself first)
        MigrationInfo info = hypervisor.migrate(d.id(), h, port, !nonLive, downtimeMillis, rounds, p -> {
            out().println(progressLine(p));
            out().flush();
        });
        out().printf("Migrated domain %s (id %d) to %s (id %d there): %d pages sent (%d in the pause), %.1f MB, downtime %.1f ms,"
                + " total %.1f ms%n", d.name(), d.id(), info.destination(), info.remoteDomid(), info.pagesSent(), info.finalPages(),
                info.bytes() / 1e6, info.downtimeNanos() / 1e6, info.totalNanos() / 1e6);
    }

    static String progressLine(MigrationInfo.Progress p) {
        return switch (p.phase()) {
            case "round" -> String.format("  round %d: %d pages sent so far, %d dirtied meanwhile, %.1f MB/s, expected downtime %.1f ms",
                    p.round(), p.pagesSent(), p.dirtyPages(), p.mbPerSecond(), p.expectedDowntimeMillis());
            case "suspending" -> "  stop: asking the guest to suspend itself (control/shutdown = suspend)";
            case "suspended" -> String.format("  stop: the guest suspended itself in %.1f ms", p.expectedDowntimeMillis());
            case "stopped" -> String.format("  stop: paused, last %d pages and the state sent (%.1f ms so far)", p.dirtyPages(),
                    p.expectedDowntimeMillis());
            case "done" -> String.format("  resumed at the destination: %d pages sent, downtime %.1f ms", p.pagesSent(),
                    p.expectedDowntimeMillis());
            default -> "  " + p;
        };
    }
}
