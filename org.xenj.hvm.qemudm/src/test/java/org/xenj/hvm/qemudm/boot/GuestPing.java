package org.xenj.hvm.qemudm.boot;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * bench/migrate.sh's guest-side downtime: iputils' {@code ping -i 0.001 -D -n} at the bench guest's
 * RTL8139 from the bench's network namespace (the command prefix comes from the script, e.g.
 * {@code ip netns exec xmig123 ping}), through the namespace's Linux bridge and the TAP of the
 * xenj process the guest is in. One ping process per migration leg, started by the source a few
 * seconds before the leg and stopped 3 s after the destination runs the guest: the guest-side
 * downtime is the longest gap between two consecutive replies (timestamps from {@code -D}) that
 * overlaps the host-side pause (from the source's pause to the destination's "running");
 * the longest gap from the leg's start on and the longest before it (the noise of a 2-core host
 * shared with other work: the guest or ping waiting for a core) are printed beside it, and the lost
 * count is the requests between the first and the last answered one without an answer (ping's own
 * summary is printed to the log). No answer after the pause at all (the guest
 * unreachable: e.g. a bridge that still sends its traffic to the source) gives a lower bound, "&gt;".
 */
final class GuestPing {

    /** {@code 2000 packets transmitted, 1990 received, ...}: ping's summary at SIGINT. */
    private static final Pattern SUMMARY = Pattern.compile("^(\\d+) packets transmitted, (\\d+) received");
    /** {@code [1765100000.123456] 64 bytes from 10.98.0.2: icmp_seq=12 ttl=64 time=0.51 ms}. */
    private static final Pattern REPLY = Pattern.compile("^\\[(\\d+\\.\\d+)\\] \\d+ bytes from [^:]+: icmp_seq=(\\d+) ");

    private final List<String> prefix;
    final String ip;

    private GuestPing(List<String> prefix, String ip) {
        this.prefix = prefix;
        this.ip = ip;
    }

    /** From {@code xenj.migbench.ping} (the command, split at spaces) and {@code xenj.migbench.guestIp}; null when not set. */
    static GuestPing fromProperties() {
        String cmd = System.getProperty("xenj.migbench.ping", "");
        String ip = System.getProperty("xenj.migbench.guestIp", "");
        return cmd.isBlank() || ip.isBlank() ? null : new GuestPing(List.of(cmd.trim().split("\\s+")), ip);
    }

    /**
     * The Linux bridge's forwarding entry for {@code mac} (from {@code xenj.migbench.fdb}, e.g.
     * {@code bridge -n xmig123 fdb show br br0}): which TAP it learned the guest on. Null when not set.
     */
    static String fdb(String mac) throws IOException, InterruptedException {
        String cmd = System.getProperty("xenj.migbench.fdb", "");
        if (cmd.isBlank()) {
            return null;
        }
        Process p = new ProcessBuilder(cmd.trim().split("\\s+")).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out.lines().filter(l -> l.startsWith(mac)).findFirst().orElse("no entry for " + mac);
    }

    /**
     * At the destination, from the moment the arrived guest is seen running: for {@code millis},
     * when the first frames went through its NIC's switch port {@code portName} on {@code bridge}
     * — from the NIC (the self-announce counts here: it is sent through the NIC's port) and to it —
     * in ms from {@code t0} (epoch ms). Tells where the guest-side gap goes beyond the pause.
     */
    static String watchPort(org.xenj.dom0.vswitch.api.Bridge bridge, String portName, long t0, long millis) throws InterruptedException {
        org.xenj.dom0.vswitch.api.Port port = null;
        long end = t0 + millis;
        List<String> from = new ArrayList<>(), to = new ArrayList<>();
        long rx = -1, tx = -1;
        while (System.currentTimeMillis() < end && (from.size() < 3 || to.size() < 3)) {
            if (port == null) {
                port = bridge.ports().stream().filter(p -> p.name().equals(portName)).findFirst().orElse(null);
            }
            if (port != null) {
                org.xenj.dom0.vswitch.api.PortCounters c = port.counters();
                long now = System.currentTimeMillis();
                if (rx >= 0 && c.rxFrames() != rx && from.size() < 3) {
                    from.add("+" + (now - t0));
                }
                if (tx >= 0 && c.txFrames() != tx && to.size() < 3) {
                    to.add("+" + (now - t0));
                }
                rx = c.rxFrames();
                tx = c.txFrames();
            }
            Thread.sleep(1);
        }
        return port == null ? "no port " + portName : "frames from the NIC at " + from + " ms, to it at " + to + " ms";
    }

    /** The guest answers one ping within {@code seconds} (tries each second); the last output when it does not. */
    String reachable(int seconds) throws IOException, InterruptedException {
        String out = "";
        for (int i = 0; i < seconds; i++) {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.addAll(List.of("-c", "1", "-W", "1", "-n", ip));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() == 0) {
                return null;
            }
        }
        return out.strip();
    }

    /** Starts pinging; returns once the first reply came, or after 10 s without one ({@link Run#answered} false). */
    Run start() throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of("-i", "0.001", "-D", "-n", ip));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Run r = new Run(p);
        long end = System.currentTimeMillis() + 10_000;
        while (r.replies() == 0 && System.currentTimeMillis() < end && p.isAlive()) {
            Thread.sleep(10);
        }
        return r;
    }

    /** One ping process and the replies it printed. */
    static final class Run {
        private final Process process;
        private final Thread reader;
        private final List<Double> times = new ArrayList<>();
        private final List<Long> seqs = new ArrayList<>();
        private final List<String> other = new ArrayList<>();
        private final StringBuilder raw = new StringBuilder();

        Run(Process process) {
            this.process = process;
            this.reader = new Thread(this::read, "migbench-ping");
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                long wraps = 0, prev = -1;
                for (String line; (line = in.readLine()) != null;) {
                    Matcher m = REPLY.matcher(line);
                    synchronized (this) {
                        raw.append(line).append('\n');
                        if (m.find()) {
                            long s = Long.parseLong(m.group(2));
                            if (prev >= 0 && s < prev && prev - s > 32768) {
                                wraps++; // icmp_seq is 16 bits: 65 s at 1 ms
                            }
                            prev = s;
                            times.add(Double.parseDouble(m.group(1)));
                            seqs.add(s + (wraps << 16));
                        } else {
                            if (!SUMMARY.matcher(line).find() && other.size() < 20) {
                                other.add(line);
                            }
                        }
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        }

        synchronized int replies() {
            return times.size();
        }

        boolean answered() {
            return replies() > 0;
        }

        /**
         * Stops the ping (SIGINT, as a user's Ctrl-C) and measures: {@code fromEpochMillis} is when
         * the migration started (the gaps before it are the baseline).
         */
        /** Ends the ping without measuring (the leg failed). */
        void kill() {
            process.destroyForcibly();
        }

        /** Everything ping printed (for the bench's logs). */
        synchronized String output() {
            return raw.toString();
        }

        /**
         * Stops the ping (SIGINT, as a user's Ctrl-C) and measures: the migration started at
         * {@code fromEpochMillis}, the guest was paused at the source at {@code pausedEpochMillis}
         * for {@code downtimeMillis} (host-side).
         */
        Result stop(long fromEpochMillis, long pausedEpochMillis, double downtimeMillis) throws IOException, InterruptedException {
            double stopped = System.currentTimeMillis() / 1e3;
            new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            reader.join(5_000);
            synchronized (this) {
                if (times.size() < 2) {
                    return new Result(Double.NaN, false, Double.NaN, -1, times.size(), Double.NaN, Double.NaN, String.join(" | ", other));
                }
                double from = fromEpochMillis / 1e3, paused = pausedEpochMillis / 1e3, resumed = paused + downtimeMillis / 1e3;
                double gap = 0, base = 0, across = Double.NaN;
                for (int i = 1; i < times.size(); i++) {
                    double g = times.get(i) - times.get(i - 1);
                    if (times.get(i) <= from) {
                        base = Math.max(base, g);
                    } else {
                        gap = Math.max(gap, g);
                    }
                    if (times.get(i - 1) < resumed && times.get(i) > paused && !(g <= across)) {
                        across = g; // overlaps the pause: the longest such gap is the outage around it
                    }
                }
                double last = times.get(times.size() - 1);
                boolean never = last <= paused; // no answer after the pause until the ping stopped: an outage of at least this
                if (never) {
                    across = stopped - last;
                    gap = Math.max(gap, across);
                }
                // between the first and the last answered request (ping's own transmitted - received also counts the
                // requests sent before the first answer and after the last, which are not the migration's)
                long lost = seqs.get(seqs.size() - 1) - seqs.get(0) + 1 - times.size();
                double rate = (times.size() - 1) / (last - times.get(0));
                return new Result(across * 1e3, never, gap * 1e3, lost, times.size(), base * 1e3, rate, "");
            }
        }
    }

    /**
     * @param gapMs      the longest gap between consecutive replies that overlaps the host-side pause
     *                   (NaN: no reply before it)
     * @param noAnswer   no reply came after the pause until the ping stopped: {@code gapMs} is a lower bound
     * @param maxGapMs   the longest gap between consecutive replies from the migration's start on
     * @param lost       requests between the first and the last answered one without an answer
     * @param replies    replies received
     * @param baseGapMs  the longest gap before the migration started (the measurement's noise)
     * @param rateHz     replies per second over the whole ping (what the host let ping send)
     * @param why        the ping's own output when it got fewer than 2 replies
     */
    record Result(double gapMs, boolean noAnswer, double maxGapMs, long lost, int replies, double baseGapMs, double rateHz, String why) {
        String fields() {
            if (Double.isNaN(maxGapMs)) {
                return "guest_gap_ms=n/a guest_lost=n/a guest_replies=" + replies;
            }
            return String.format("guest_gap_ms=%s guest_max_gap_ms=%.1f guest_lost=%d guest_replies=%d guest_base_gap_ms=%.1f guest_ping_hz=%.0f",
                    Double.isNaN(gapMs) ? "n/a" : (noAnswer ? ">" : "") + String.format("%.1f", gapMs), maxGapMs, lost, replies, baseGapMs,
                    rateHz);
        }
    }
}
