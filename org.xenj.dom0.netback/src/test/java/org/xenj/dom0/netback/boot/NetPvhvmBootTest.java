package org.xenj.dom0.netback.boot;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.netback.internal.Netback;
import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * The real oracle for netback and the switch: two Debian 686-pae guests (PVHVM, xen_platform_pci=1)
 * booted at once on two pCPUs (the CI host has two cores), each with a vif on xenbr0. Linux's own xen-netfront (loaded by the
 * guest's /init) must find its device and come up; busybox {@code ip} configures 10.99.0.1 and
 * .2, and {@code ping -c 20} must get 20 answers both ways. If a TAP can be opened here, it joins
 * xenbr0 from a network namespace the test creates (10.99.0.254), where Python's http.server serves
 * a 16 MiB random file that guest A fetches with busybox wget; its md5 must match; then the namespace
 * fetches it back from busybox httpd in the guest. Last, a vif hot-plugged into guest B must appear
 * as a NIC there (xen-netfront's hot-plug) and go again when unplugged. One boot serves every check. Runs only with {@code -Dxenj.pvhvm.dir=DIR} (tests/net-pvhvm.sh sets it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NetPvhvmBootTest {

    static final String[] MAC = { "00:16:3e:00:00:01", "00:16:3e:00:00:02" };
    static final String[] IP = { "10.99.0.1", "10.99.0.2" };
    static final String HOST_IP = "10.99.0.254";
    static final int BLOB_MIB = 16;

    private final List<String> switchLog = new java.util.concurrent.CopyOnWriteArrayList<>();
    private SwitchService sw;
    private Netback netback;
    private HypervisorCore xen;
    private final List<Domain> doms = new ArrayList<>();
    private final List<GuestConsole> consoles = new ArrayList<>();
    private final String[] ifname = new String[2];
    private String ns;
    private String tap;
    private String tapReason;
    private Process httpd;
    private Path blobDir;
    private String blobMd5;
    private long timeoutMs;
    private long t0;

    @BeforeAll
    void bootTwoGuests() throws Exception {
        String dir = System.getProperty("xenj.pvhvm.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.pvhvm.dir to run the PVHVM network boot test");
        Path guest = Path.of(dir);
        assertTrue(Files.isRegularFile(guest.resolve("bzImage")), "no bzImage in " + guest);
        timeoutMs = Long.getLong("xenj.boot.timeout", 1500) * 1000;

        sw = new SwitchService(System::nanoTime, m -> {
            switchLog.add(m);
            System.out.println("[net-pvhvm] switch: " + m);
        }, 300_000);
        netback = new Netback(sw);
        setUpHostSide();

        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel());
        plugins.addBackend(netback, Netback.KIND);
        xen = new HypervisorCore(CoreConfig.parse("460M", 2, "32M", "credit"), plugins);
        t0 = System.nanoTime();
        for (int i = 0; i < 2; i++) {
            DomainConfig cfg = DomainConfig.builder("net" + (char) ('a' + i)).type(DomainType.HVM).memoryMiB(200)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(System.getProperty("xenj.boot.cmdline", "console=ttyS0 cryptomgr.notests nokaslr"))
                    .onPoweroff(ShutdownAction.DESTROY).vifs(List.of("mac=" + MAC[i] + ",bridge=xenbr0"))
                    .raw(Map.of("xen_platform_pci", "1")).build();
            Domain d = xen.create(cfg);
            doms.add(d);
            consoles.add(new GuestConsole(xen.console(d.id())));
        }
        for (int i = 0; i < 2; i++) {
            GuestConsole c = consoles.get(i);
            int prompt = c.waitFor(GuestConsole.PROMPT, 0, timeoutMs);
            assertTrue(prompt >= 0, "guest " + i + ": no shell prompt; console:\n" + GuestConsole.tail(c.text()) + "\ndmesg:\n"
                    + String.join("\n", xen.dmesg()));
            System.out.printf("[net-pvhvm] guest %d: prompt after %.1f s%n", i, secs());
        }
    }

    private double secs() {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The namespace, TAP and httpd; where that is impossible, the reason (the wget check is then skipped). */
    private void setUpHostSide() throws Exception {
        long pid = ProcessHandle.current().pid();
        tap = "xnt" + (pid % 100000);
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            tapReason = "no /dev/net/tun";
            return;
        }
        String candidate = "xenjnet" + pid;
        String out = sh(10, "ip", "netns", "add", candidate);
        if (out.startsWith("exit")) {
            tapReason = "cannot create a network namespace: " + out.trim();
            return;
        }
        ns = candidate;
        Bridge br = sw.bridge("xenbr0");
        String link = br.attachTap(tap);
        if (link.contains("unavailable")) {
            tapReason = link;
            return;
        }
        out = sh(10, "ip", "link", "set", tap, "netns", ns) + sh(10, "ip", "netns", "exec", ns, "ip", "addr", "add", HOST_IP + "/24", "dev", tap)
                + sh(10, "ip", "netns", "exec", ns, "ip", "link", "set", tap, "up")
                + sh(10, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
        if (!out.isBlank()) {
            tapReason = "configuring " + tap + " in " + ns + ": " + out.trim();
            return;
        }
        blobDir = Files.createTempDirectory("xenj-net-");
        byte[] blob = new byte[BLOB_MIB << 20];
        new Random(42).nextBytes(blob);
        Files.write(blobDir.resolve("blob"), blob);
        blobMd5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(blob));
        try {
            httpd = new ProcessBuilder("ip", "netns", "exec", ns, "python3", "-m", "http.server", "8080", "--bind", HOST_IP, "--directory",
                    blobDir.toString()).redirectErrorStream(true).redirectOutput(blobDir.resolve("httpd.log").toFile()).start();
        } catch (IOException e) {
            tapReason = "cannot start python3's http.server in " + ns + ": " + e.getMessage();
            return;
        }
        if (httpd.waitFor(1, TimeUnit.SECONDS)) {
            tapReason = "python3's http.server in " + ns + " exited: " + Files.readString(blobDir.resolve("httpd.log")).trim();
            return;
        }
        System.out.println("[net-pvhvm] host side: " + tap + " in netns " + ns + " at " + HOST_IP + ", httpd serving " + BLOB_MIB
                + " MiB (md5 " + blobMd5 + ")");
    }

    static String sh(int timeoutSeconds, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "exit timeout: " + String.join(" ", cmd);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }

    @AfterAll
    void tearDown() throws Exception {
        try {
            if (xen != null) {
                for (int i = 0; i < consoles.size(); i++) {
                    System.out.println("[net-pvhvm] guest " + i + " console tail:\n" + GuestConsole.tail(consoles.get(i).text()));
                }
                xen.dmesg().stream().filter(l -> l.contains("vif") || l.contains("netback"))
                        .forEach(l -> System.out.println("[net-pvhvm] dmesg: " + l.trim()));
                for (GuestConsole c : consoles) {
                    c.close();
                }
                xen.close();
            }
        } finally {
            if (httpd != null) {
                httpd.destroyForcibly();
                httpd.waitFor(5, TimeUnit.SECONDS);
            }
            if (sw != null) {
                sw.close();
            }
            if (netback != null) {
                netback.close();
            }
            if (ns != null) {
                sh(10, "ip", "netns", "del", ns);
            }
            if (blobDir != null) {
                Files.deleteIfExists(blobDir.resolve("blob"));
                Files.deleteIfExists(blobDir.resolve("httpd.log"));
                Files.deleteIfExists(blobDir);
            }
        }
    }

    private String run(int guest, String cmd, long millis) throws InterruptedException {
        String out = consoles.get(guest).run(cmd, millis);
        assertNotNull(out, "guest " + guest + ": '" + cmd + "' did not finish; console:\n" + GuestConsole.tail(consoles.get(guest).text()));
        return out;
    }

    @Test
    @Order(1)
    void xenNetfrontConnectsInBothGuests() throws Exception {
        for (int i = 0; i < 2; i++) {
            String diag = run(i, "dmesg | grep -i -E 'netfront|xen_net|vif' ; ls /sys/bus/xen/devices/; "
                    + "for n in /sys/class/net/*; do echo \"nic $(basename $n) $(cat $n/address) $(basename $(readlink $n/device/driver) 2>/dev/null)\"; done",
                    120_000);
            System.out.println("[net-pvhvm] guest " + i + ":\n" + diag);
            Matcher m = Pattern.compile("nic (\\S+) " + MAC[i] + " (\\S*)").matcher(diag);
            if (!m.find()) {
                int domid = doms.get(i).id();
                fail("guest " + i + " has no NIC with " + MAC[i] + ":\n" + diag + "\nvifs: " + netback.list(domid) + "\ndmesg:\n"
                        + String.join("\n", xen.dmesg()));
            }
            ifname[i] = m.group(1);
            assertEquals("vif", m.group(2), "the NIC is xen-netfront's (driver 'vif')");
            String up = run(i, "ip addr add " + IP[i] + "/24 dev " + ifname[i] + " && ip link set " + ifname[i] + " up && ip -o addr show dev "
                    + ifname[i], 60_000);
            assertTrue(up.contains(IP[i] + "/24"), "guest " + i + ": address not set:\n" + up);
            List<VifInfo> vifs = netback.list(doms.get(i).id());
            System.out.println("[net-pvhvm] guest " + i + ": " + ifname[i] + " up; backend " + vifs);
            assertEquals(4, vifs.get(0).backendState(), "backend Connected");
            assertEquals(4, vifs.get(0).frontendState(), "frontend Connected");
        }
    }

    private static final Pattern PING = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received, (\\d+)% packet loss");

    private void ping(int from, int to) throws Exception {
        assumeTrue(ifname[0] != null && ifname[1] != null, "netfront did not come up");
        long t = System.nanoTime();
        String out = run(from, "ping -c 20 " + IP[to], 300_000);
        System.out.printf("[net-pvhvm] ping %s -> %s (%.1f s):%n%s%n", IP[from], IP[to], (System.nanoTime() - t) / 1e9, out.trim());
        Matcher m = PING.matcher(out);
        assertTrue(m.find(), "no ping summary:\n" + out);
        assertEquals("20", m.group(1));
        assertEquals("20", m.group(2), "every echo answered:\n" + out);
        assertEquals("0", m.group(3));
    }

    @Test
    @Order(2)
    void guestAPingsGuestB() throws Exception {
        ping(0, 1);
    }

    @Test
    @Order(3)
    void guestBPingsGuestA() throws Exception {
        ping(1, 0);
        for (Port p : sw.bridge("xenbr0").ports()) {
            System.out.println("[net-pvhvm] port " + p.name() + " " + p.counters());
        }
        System.out.println("[net-pvhvm] mac table " + sw.bridge("xenbr0").macTable());
    }

    @Test
    @Order(4)
    void guestFetchesSixteenMibFromTheNamespaceAndTheMd5Matches() throws Exception {
        if (tapReason != null) {
            System.out.println("[net-pvhvm] wget skipped: " + tapReason);
        }
        assumeTrue(tapReason == null, tapReason);
        assumeTrue(ifname[0] != null, "netfront did not come up");
        String ping = run(0, "ping -c 3 " + HOST_IP, 120_000);
        System.out.println("[net-pvhvm] ping the namespace:\n" + ping.trim());
        long t = System.nanoTime();
        String out = run(0, "wget -q -O /tmp/blob http://" + HOST_IP + ":8080/blob; ls -l /tmp/blob; md5sum /tmp/blob", 900_000);
        double s = (System.nanoTime() - t) / 1e9;
        System.out.printf("[net-pvhvm] wget %d MiB in %.1f s (%.2f MB/s):%n%s%n", BLOB_MIB, s, BLOB_MIB * 1.048576 / s, out.trim());
        assertTrue(out.contains(blobMd5), "md5 " + blobMd5 + " expected:\n" + out + "\nhttpd log: "
                + Files.readString(blobDir.resolve("httpd.log")));
    }

    @Test
    @Order(5)
    void theNamespaceFetchesItBackFromTheGuestsHttpd() throws Exception {
        String noWget = sh(10, "sh", "-c", "command -v wget").startsWith("exit") ? "no wget on the host" : null;
        String why = tapReason != null ? tapReason : noWget;
        if (why != null) {
            System.out.println("[net-pvhvm] reverse wget skipped: " + why);
        }
        assumeTrue(why == null, why);
        assumeTrue(ifname[0] != null, "netfront did not come up");
        String started = run(0, "ls -l /tmp/blob && httpd -p 8080 -h /tmp", 60_000);
        assertTrue(started.contains("16777216"), "the guest no longer has the file:\n" + started);
        long t = System.nanoTime();
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "sh", "-c",
                "wget --no-proxy -q -T 60 -O - http://" + IP[0] + ":8080/blob | md5sum").redirectErrorStream(true).start();
        boolean finished = p.waitFor(900, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        double s = (System.nanoTime() - t) / 1e9;
        System.out.printf("[net-pvhvm] host wget of %d MiB from the guest's httpd in %.1f s (%.2f MB/s): %s%n", BLOB_MIB, s,
                BLOB_MIB * 1.048576 / s, out.trim());
        assertTrue(finished, "wget from the guest did not finish");
        assertTrue(out.startsWith(blobMd5), "md5 " + blobMd5 + " expected: " + out);
        run(0, "rm /tmp/blob", 60_000);
    }

    @Test
    @Order(6)
    void hotPlugAddsANicToARunningGuestAndUnplugRemovesIt() throws Exception {
        assumeTrue(ifname[1] != null, "netfront did not come up");
        int domid = doms.get(1).id();
        String mac = "00:16:3e:00:01:02";
        VifInfo added = netback.attach(domid, "mac=" + mac + ",bridge=xenbr0");
        assertEquals(1, added.devid());
        String nic = null;
        long end = System.currentTimeMillis() + 120_000;
        while (nic == null && System.currentTimeMillis() < end) {
            String out = run(1, "for n in /sys/class/net/*; do echo \"nic $(basename $n) $(cat $n/address)\"; done", 60_000);
            Matcher m = Pattern.compile("nic (\\S+) " + mac).matcher(out);
            nic = m.find() ? m.group(1) : null;
            if (nic == null) {
                Thread.sleep(2000);
            }
        }
        System.out.println("[net-pvhvm] hot-plugged vif1 of guest 1: " + nic + "; " + netback.list(domid));
        assertNotNull(nic, "the guest's netfront found no hot-plugged NIC " + mac + ": " + netback.list(domid) + "\n"
                + GuestConsole.tail(consoles.get(1).text()));
        assertEquals(4, netback.list(domid).get(1).backendState());
        netback.detach(domid, mac);
        end = System.currentTimeMillis() + 60_000;
        boolean gone = false;
        while (!gone && System.currentTimeMillis() < end) {
            String left = run(1, "ls -1 /sys/class/net", 60_000);
            gone = !Pattern.compile("(?m)^" + Pattern.quote(nic) + "\\s*$").matcher(left).find() && netback.list(domid).size() == 1;
            if (!gone) {
                Thread.sleep(2000);
            }
        }
        System.out.println("[net-pvhvm] after network-detach: " + run(1, "ls /sys/class/net", 60_000).trim() + "; " + netback.list(domid));
        assertTrue(gone, "the NIC or its vif is still there: " + netback.list(domid));
    }
}
