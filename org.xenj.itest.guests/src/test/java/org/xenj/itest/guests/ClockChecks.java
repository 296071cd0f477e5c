package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The domain clock seen by Linux (issue 11 item 1): a TSC the kernel took without calibrating
 * against the PIT ({@code tsc: Detected 1000.000 MHz}), the TSC (or, on pv, Xen's pvclock) as
 * clocksource, a sensible {@code cpu MHz}, and guest uptime and wall clock that keep the host's
 * time within 1 % across the whole boot's checks. The rate is measured between a sample taken
 * right after the prompts and one taken before poweroff, so it costs no extra minute: every other
 * step runs in between, under the load of two guests, backend hand-overs and the host's own work.
 */
final class ClockChecks {

    static final double MAX_DRIFT = 0.01;
    static final long MIN_SPAN_NANOS = 60_000_000_000L;
    static final Pattern DETECTED = Pattern.compile("tsc: Detected (\\d+\\.\\d+) MHz");
    static final Pattern CPU_MHZ = Pattern.compile("cpu MHz\\s*:\\s*(\\d+\\.\\d+)");
    static final Pattern SAMPLE = Pattern.compile("uptime (\\d+\\.\\d+) \\S+\\s+date (\\S+)");

    /**
     * One reading of a guest's clocks, bracketed by the host's: {@code hostNanos} and
     * {@code hostWallNanos} are the midpoints of the command's round trip, {@code rttNanos} its length
     * (the uncertainty of when inside it the guest read its clocks).
     */
    record Sample(String guest, double uptime, double wall, boolean wallHasNanos, long hostNanos, long hostWallNanos, long rttNanos) {
    }

    private ClockChecks() {
    }

    static Sample sample(GuestShell g) throws InterruptedException {
        long h0 = System.nanoTime(), w0 = System.currentTimeMillis();
        // busybox's date has no %N here: adjtimex(2) (read only, no options) gives the time to the µs
        String out = g.run("t=$(adjtimex 2>/dev/null | awk '/tv_sec/{s=$2} /tv_usec/{u=$2} "
                + "END{if (u >= 1000000) u = int(u / 1000); if (s) printf \"%d.%06d\", s, u}'); "
                + "[ -n \"$t\" ] || t=$(date +%s); echo \"uptime $(cat /proc/uptime) date $t\"", 300);
        long h1 = System.nanoTime(), w1 = System.currentTimeMillis();
        Matcher m = SAMPLE.matcher(out);
        assertTrue(m.find(), g.name() + ": no uptime/date sample in:\n" + out);
        String date = m.group(2);
        boolean nanos = date.matches("\\d+\\.\\d+"); // else whole seconds from date +%s
        double wall = Double.parseDouble(nanos ? date : date.replaceAll("\\..*", ""));
        return new Sample(g.name(), Double.parseDouble(m.group(1)), wall, nanos, (h0 + h1) / 2,
                (w0 + w1) / 2 * 1_000_000L, h1 - h0);
    }

    /** The kernel took the TSC's frequency as told (CPUID 0x15/0x16 on pc, pvclock on pv) and keeps time from it. */
    static Object calibratedTsc(GuestShell g, List<String> clocksources) throws InterruptedException {
        String out = g.run("dmesg | grep -i -E 'tsc|clocksource|calibrat|bogomips'; grep -m1 'cpu MHz' /proc/cpuinfo; "
                + "echo current $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)", 300);
        System.out.println("[guest-devices] " + g.name() + " clock:\n" + out.trim());
        for (String bad : List.of("Fast TSC calibration failed", "Unable to calibrate", "Marking TSC unstable", "TSC calibration failed")) {
            assertFalse(out.contains(bad), g.name() + ": '" + bad + "' in the kernel log:\n" + out);
        }
        Matcher detected = DETECTED.matcher(out);
        assertTrue(detected.find(), g.name() + ": no 'tsc: Detected ... MHz' in the kernel log:\n" + out);
        double tscMhz = Double.parseDouble(detected.group(1));
        assertTrue(Math.abs(tscMhz - 1000) <= 10, g.name() + ": TSC detected at " + tscMhz + " MHz, the virtual TSC runs at 1000:\n" + out);
        Matcher mhz = CPU_MHZ.matcher(out);
        assertTrue(mhz.find(), g.name() + ": no 'cpu MHz' in /proc/cpuinfo:\n" + out);
        double cpuMhz = Double.parseDouble(mhz.group(1));
        assertTrue(Math.abs(cpuMhz - 1000) <= 10, g.name() + ": cpu MHz " + cpuMhz + ":\n" + out);
        Matcher current = Pattern.compile("current (\\S+)").matcher(out);
        assertTrue(current.find() && clocksources.contains(current.group(1)),
                g.name() + ": clocksource is not one of " + clocksources + ":\n" + out);
        System.out.printf("[guest-devices] %s: tsc %.3f MHz, cpu MHz %.3f, clocksource %s%n", g.name(), tscMhz, cpuMhz, current.group(1));
        return null;
    }

    /**
     * Guest uptime and wall time advanced as the host's did between two samples (within 1 % plus the
     * two round trips' uncertainty), and the guest's wall clock reads the host's (within 2 s: Linux
     * reads the RTC to the second at boot).
     */
    static Object keptHostTime(Sample start, Sample end) {
        assertNotNull(start, end.guest() + ": no start sample (the boot's first step did not run)");
        double host = (end.hostNanos() - start.hostNanos()) / 1e9;
        double slack = (start.rttNanos() + end.rttNanos()) / 2 / 1e9;
        double uptime = end.uptime() - start.uptime();
        double wall = end.wall() - start.wall();
        double wallSlack = slack + (end.wallHasNanos() ? 0 : 1);
        double uptimeDrift = (uptime - host) / host, wallDrift = (wall - host) / host;
        double offsetStart = start.wall() - start.hostWallNanos() / 1e9, offsetEnd = end.wall() - end.hostWallNanos() / 1e9;
        System.out.printf("[guest-devices] %s clock over %.1f s of host time: uptime +%.2f s (drift %+.3f %%), "
                + "wall +%.2f s (drift %+.3f %%), wall - host wall %+.2f s then %+.2f s, round trips %.2f s / %.2f s%n",
                end.guest(), host, uptime, uptimeDrift * 100, wall, wallDrift * 100, offsetStart, offsetEnd,
                start.rttNanos() / 1e9, end.rttNanos() / 1e9);
        assertTrue(host * 1e9 >= MIN_SPAN_NANOS, end.guest() + ": only " + host + " s between the clock samples");
        assertTrue(Math.abs(uptime - host) <= MAX_DRIFT * host + slack,
                end.guest() + ": uptime advanced " + uptime + " s in " + host + " s of host time");
        assertTrue(Math.abs(wall - host) <= MAX_DRIFT * host + wallSlack,
                end.guest() + ": wall clock advanced " + wall + " s in " + host + " s of host time");
        for (Sample s : List.of(start, end)) {
            double offset = s.wall() - s.hostWallNanos() / 1e9;
            assertTrue(Math.abs(offset) <= 2 + s.rttNanos() / 1e9 + (s.wallHasNanos() ? 0 : 1),
                    s.guest() + ": guest wall clock " + s.wall() + " vs host " + s.hostWallNanos() / 1e9);
        }
        return null;
    }
}
