package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Network checks typed into a guest's shell: busybox ping, wget and httpd against the other end. */
final class Net {

    static final String LIST_NICS = "for n in /sys/class/net/*; do echo \"nic $(basename $n) $(cat $n/address) "
            + "$(basename $(readlink $n/device/driver) 2>/dev/null)\"; done";
    private static final Pattern PING = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received, (\\d+)% packet loss");

    private Net() {
    }

    /** The interface with {@code mac}, which must be bound by {@code driver}; waits up to 60 s for it. */
    static String nicWithMac(GuestShell g, String mac, String driver) throws Exception {
        long end = System.currentTimeMillis() + 60_000;
        while (true) {
            String list = g.run("dmesg | grep -i -E 'netfront|8139|ne2k|8029|eth[0-9]' | tail -8; " + LIST_NICS, 60);
            Matcher m = Pattern.compile("nic (\\S+) " + mac + " (\\S*)").matcher(list);
            if (m.find()) {
                System.out.println("[guest-devices] " + g.name() + " NICs:\n" + list.trim());
                assertEquals(driver, m.group(2), g.name() + ": " + m.group(1) + " (" + mac + ") is bound by the wrong driver");
                return m.group(1);
            }
            assertTrue(System.currentTimeMillis() < end, g.name() + ": no NIC with " + mac + " after 60 s:\n" + list);
            Thread.sleep(1000);
        }
    }

    /** {@code ping -c count [-s size] to}: every echo must be answered. Returns the summary. */
    static String ping(GuestShell g, String to, int count, int size) throws Exception {
        return ping(g, to, count, size, "");
    }

    /** As {@link #ping(GuestShell, String, int, int)} with more of busybox ping's options (e.g. {@code -i 0.2}). */
    static String ping(GuestShell g, String to, int count, int size, String options) throws Exception {
        long t = System.nanoTime();
        String out = g.run("ping -c " + count + (size > 0 ? " -s " + size : "") + (options.isEmpty() ? "" : " " + options) + " " + to,
                60 + 5 * count);
        Matcher m = PING.matcher(out);
        assertTrue(m.find(), g.name() + ": no ping summary:\n" + out);
        String summary = out.substring(m.start()).replaceAll("\\s+", " ").trim();
        System.out.printf("[guest-devices] %s ping %s%s (%.1f s): %s%n", g.name(), to, size > 0 ? " -s " + size : "",
                (System.nanoTime() - t) / 1e9, summary);
        assertEquals(String.valueOf(count), m.group(2), g.name() + " -> " + to + ": every echo answered:\n" + out);
        return summary;
    }

    /** busybox wget of the namespace's file through the guest's NIC; the md5 must match. */
    static Object wget(GuestShell g, NetNamespace ns, String address, String via) throws Exception {
        long t = System.nanoTime();
        String out = g.run("wget -q -O - " + ns.url(address) + " | md5sum", 900);
        double s = (System.nanoTime() - t) / 1e9;
        System.out.printf("[guest-devices] %s wget %d MiB through %s in %.1f s (%.2f MB/s): %s%n", g.name(), ns.blobMib, via, s,
                ns.blobMib * 1.048576 / s, out.trim());
        assertTrue(out.contains(ns.blobMd5), g.name() + ": md5 " + ns.blobMd5 + " expected:\n" + out + "\nhttpd log: " + ns.httpdLog());
        return null;
    }

    /** pv keeps the file in /tmp and serves it with busybox httpd; the namespace fetches it back. */
    static Object wgetThroughNetfrontAndBack(GuestDevicesBootTest test) throws Exception {
        GuestShell pv = test.pv;
        NetNamespace ns = test.netns;
        String ping = pv.run("ping -c 3 " + NetNamespace.ADDRESS, 120);
        assertTrue(ping.contains("3 packets received"), "pv cannot reach the namespace:\n" + ping);
        long t = System.nanoTime();
        String out = pv.run("wget -q -O /tmp/blob " + ns.url() + "; md5sum /tmp/blob", 900);
        double s = (System.nanoTime() - t) / 1e9;
        System.out.printf("[guest-devices] pv wget %d MiB through netfront in %.1f s (%.2f MB/s): %s%n", ns.blobMib, s,
                ns.blobMib * 1.048576 / s, out.trim());
        assertTrue(out.contains(ns.blobMd5), "pv: md5 " + ns.blobMd5 + " expected:\n" + out + "\nhttpd log: " + ns.httpdLog());
        if (HostTools.sh(10, "sh", "-c", "command -v wget").startsWith("exit")) {
            System.out.println("[guest-devices] reverse wget not done: no wget on the host");
            return null;
        }
        pv.run("httpd -p 8080 -h /tmp", 60);
        t = System.nanoTime();
        Process p = new ProcessBuilder("ip", "netns", "exec", ns.ns, "sh", "-c",
                "wget --no-proxy -q -T 60 -O - http://" + GuestDevicesBootTest.PV_IP + ":8080/blob | md5sum").redirectErrorStream(true).start();
        boolean finished = p.waitFor(900, TimeUnit.SECONDS);
        String back = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        s = (System.nanoTime() - t) / 1e9;
        System.out.printf("[guest-devices] namespace wget of %d MiB from pv's httpd in %.1f s (%.2f MB/s): %s%n", ns.blobMib, s,
                ns.blobMib * 1.048576 / s, back.trim());
        assertTrue(finished, "wget from pv did not finish");
        assertTrue(back.startsWith(ns.blobMd5), "md5 " + ns.blobMd5 + " expected: " + back);
        pv.run("rm /tmp/blob", 60);
        return null;
    }
}
