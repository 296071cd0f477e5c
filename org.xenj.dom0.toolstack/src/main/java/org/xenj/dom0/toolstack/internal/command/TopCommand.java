package org.xenj.dom0.toolstack.internal.command;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.table.ShellTable;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.HostInfo;

@Service
@Command(scope = "xen", name = "top", description = "Domains' CPU and memory use, refreshed (xentop); q quits",
        detailedDescription = "Batch mode for scripts: xen:top -b -n 3 -d 1 prints three tables one second apart.")
public class TopCommand extends XenCommand {

    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    @Option(name = "-b", aliases = "--batch", description = "Print tables one after another, no screen control")
    boolean batch;

    @Option(name = "-n", aliases = "--iterations", description = "Number of tables (batch default 1, interactive: until q)")
    int iterations = -1;

    @Option(name = "-d", aliases = "--delay", description = "Seconds between tables (default 3)")
    double delaySeconds = 3;

    @Option(name = "--no-format", description = "Plain tab-separated tables, for scripts")
    boolean noFormat;

    @Reference(optional = true)
    Session session;

    /** Last sample per domain id: cpu nanos and wall nanos, for CPU(%) between two tables. */
    private final Map<Integer, long[]> previous = new HashMap<>();

    @Override
    protected void run() throws Exception {
        if (delaySeconds < 0.1 || delaySeconds > 3600) {
            throw new IllegalArgumentException("delay must be 0.1..3600 s, was " + delaySeconds);
        }
        int n = iterations > 0 ? iterations : (batch ? 1 : Integer.MAX_VALUE);
        long delayMillis = Math.round(delaySeconds * 1000);
        RawTerminal raw = batch ? null : RawTerminal.enter(session);
        try {
            KeyInput keys = raw != null ? raw.keys() : null;
            for (int i = 0; i < n; i++) {
                if (!batch) {
                    out().print("\033[H\033[2J");
                }
                printTable();
                out().flush();
                if (i + 1 < n && waitOrQuit(keys, delayMillis)) {
                    return;
                }
            }
        } finally {
            if (raw != null) {
                raw.close();
            }
        }
    }

    /** Sleeps between tables; true when the user pressed q. */
    private boolean waitOrQuit(KeyInput keys, long millis) throws Exception {
        if (keys == null) {
            Thread.sleep(millis);
            return false;
        }
        long deadline = System.currentTimeMillis() + millis;
        for (long left = millis; left > 0; left = deadline - System.currentTimeMillis()) {
            int k = keys.read(left);
            if (k == 'q' || k == 'Q' || k == KeyInput.EOF) {
                return true;
            }
        }
        return false;
    }

    void printTable() {
        HostInfo h = hypervisor.info();
        List<Domain> domains = hypervisor.list();
        Map<DomainState, Integer> counts = new HashMap<>();
        domains.forEach(d -> counts.merge(d.state(), 1, Integer::sum));
        String nl = batch ? "\n" : "\r\n";
        out().print("xentop - " + LocalTime.now().format(CLOCK) + "   xenj " + h.xenVersion() + nl);
        out().print(domains.size() + " domains: " + counts.getOrDefault(DomainState.RUNNING, 0) + " running, "
                + counts.getOrDefault(DomainState.BLOCKED, 0) + " blocked, "
                + counts.getOrDefault(DomainState.PAUSED, 0) + " paused, "
                + counts.getOrDefault(DomainState.SHUTDOWN, 0) + " shutdown, "
                + counts.getOrDefault(DomainState.CRASHED, 0) + " crashed" + nl);
        out().print("Mem: " + h.totalMemoryKiB() + "k total, " + (h.totalMemoryKiB() - h.freeMemoryKiB()) + "k used, "
                + h.freeMemoryKiB() + "k free    CPUs: " + h.nrPcpus() + nl);
        ShellTable t = new ShellTable();
        t.column("NAME");
        t.column("STATE");
        t.column("CPU(sec)").alignRight();
        t.column("CPU(%)").alignRight();
        t.column("MEM(k)").alignRight();
        t.column("MEM(%)").alignRight();
        t.column("MAXMEM(k)").alignRight();
        t.column("VCPUS").alignRight();
        t.column("POOL");
        long now = System.nanoTime();
        Map<Integer, long[]> seen = new HashMap<>();
        for (Domain d : domains) {
            long cpu = d.cpuTimeNanos();
            long[] prev = previous.get(d.id());
            double pct;
            if (prev != null && now > prev[1]) {
                pct = 100.0 * (cpu - prev[0]) / (now - prev[1]);
            } else {
                pct = d.uptimeNanos() > 0 ? 100.0 * cpu / d.uptimeNanos() : 0;
            }
            seen.put(d.id(), new long[] {cpu, now});
            double memPct = h.totalMemoryKiB() > 0 ? 100.0 * d.memoryKiB() / h.totalMemoryKiB() : 0;
            t.addRow().addContent(d.name(), Formats.stateFlags(d.state()), cpu / 1_000_000_000L,
                    String.format(Locale.ROOT, "%.1f", pct), d.memoryKiB(), String.format(Locale.ROOT, "%.1f", memPct),
                    d.maxMemoryKiB(), d.vcpus(), d.pool());
        }
        previous.clear();
        previous.putAll(seen);
        t.print(out(), !noFormat);
        if (!batch) {
            out().print("(q quits)\r\n");
        }
    }
}
