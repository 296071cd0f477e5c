package org.xenj.dom0.netback.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.netback.internal.Netback;
import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hypervisor.internal.pv.PvDomainBuilder;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendInstance;
import org.xenj.hypervisor.spi.backend.GrantMapping;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * The pure PV network path: guests/pv-test (built from source with gcc -m32) boots as a PV domain
 * with a vif on a real bridge; its small netfront connects to netback. A Java port on the same
 * bridge (the host side here) sends ARP requests and ICMP echo requests of many sizes to the
 * kernel's address and checks every reply byte by byte (MACs, addresses, both checksums, the
 * payload echoed). Frames over the MTU, runts, bad checksums and random garbage must get no
 * answer and must not stop it: it answers again afterwards, and its own counts (printed when
 * Domain 0 asks it to shut down) add up to what netback copied into its rx buffers.
 */
class PvNetfrontTest {

    static final long GUEST_MAC = 0x00163e0a0b0dL;
    static final int GUEST_IP = 0x0a090007; // 10.9.0.7, given on the kernel command line
    static final long HOST_MAC = 0x020000000042L;
    static final int HOST_IP = 0x0a090001;
    static final int MTU = 1500;

    @Test
    void pvTestKernelAnswersArpAndEcho() throws Exception {
        Path kernel = buildKernel();
        long t0 = System.nanoTime();
        try (Rig rig = new Rig()) {
            HypervisorCore xen = rig.xen;
            Netback netback = rig.netback;
            Port host = rig.host;
            Domain d = rig.boot(kernel, "ip=10.9.0.7");
            try (GuestConsole console = new GuestConsole(xen.console(d.id()))) {
                int at = console.waitFor("pv-test: netfront: connected", 0, 60_000);
                assertTrue(at >= 0, "netfront connected:\n" + console.text() + "\n" + String.join("\n", xen.dmesg()));
                console.waitFor("\n", at, 5_000);
                System.out.printf("[pv-netfront] booted and connected in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
                assertTrue(console.text().contains("pv-test: netfront: connected to /local/domain/0/backend/vif/" + d.id()
                        + "/0, mac 00:16:3e:0a:0b:0d, ip 10.9.0.7, mtu 1500"), console.text());

                Exchange ex = new Exchange(host, rig.received, GUEST_IP);
                for (int i = 0; i < 5; i++) {
                    ex.arp(HOST_IP + i);
                }
                int[] sizes = {0, 1, 2, 7, 8, 31, 56, 64, 100, 255, 256, 511, 512, 777, 1000, 1024, 1234, 1400, 1471, 1472};
                Random random = new Random(10);
                for (int i = 0; i < sizes.length; i++) {
                    ex.echo(i + 1, sizes[i], random);
                }
                System.out.printf("[pv-netfront] %d ARP and %d echo requests answered correctly; round trip min %.2f / avg %.2f / max %.2f ms%n",
                        ex.arps, ex.echoes, ex.minRtt / 1e6, ex.totalRtt / 1e6 / (ex.arps + ex.echoes), ex.maxRtt / 1e6);

                long toGuest = vif(netback, d.id()).toGuest();
                BadFrames bad = new BadFrames(random);
                // in batches of 32, each waited for: a burst beyond netback's rx backlog (256) would be dropped there
                for (int from = 0; from < bad.frames.size(); from += 32) {
                    for (byte[] f : bad.frames.subList(from, Math.min(from + 32, bad.frames.size()))) {
                        assertTrue(host.send(f, f.length));
                        toGuest += f.length <= MTU + 18 ? 1 : 0;
                    }
                    long until = System.currentTimeMillis() + 20_000;
                    while (vif(netback, d.id()).toGuest() < toGuest && System.currentTimeMillis() < until) {
                        Thread.sleep(5);
                    }
                    VifInfo v = vif(netback, d.id());
                    assertEquals(toGuest, v.toGuest(), "netback copied every bad frame within MTU + 18 to the guest: " + v);
                }
                VifInfo v = vif(netback, d.id());
                assertEquals(bad.overMtu, v.refused(), "netback itself dropped the frames over the MTU: " + v);
                byte[] answer = rig.received.poll(500, TimeUnit.MILLISECONDS);
                assertNull(answer, () -> "a bad frame was answered: " + hex(answer));
                // still alive and answering
                ex.arp(HOST_IP + 9);
                ex.echo(99, 1472, random);
                ex.echo(100, 0, random);

                xen.shutdown(d.id(), ShutdownReason.POWEROFF);
                long end = System.currentTimeMillis() + 30_000;
                while (System.currentTimeMillis() < end
                        && !xen.lookup(d.id()).map(x -> x.state() == DomainState.SHUTDOWN).orElse(true)) {
                    Thread.sleep(20);
                }
                String text = console.text();
                System.out.println("[pv-netfront] console:\n" + text);
                v = vif(netback, d.id());
                System.out.println("[pv-netfront] " + v);
                Matcher m = Pattern.compile("pv-test: netfront: asked to shut down; answered (\\d+) ARP, (\\d+) echo;"
                        + " dropped (\\d+) bad frames, ignored (\\d+), tx errors 0\n").matcher(text);
                assertTrue(m.find(), text + "\n" + String.join("\n", xen.dmesg()));
                int arps = Integer.parseInt(m.group(1)), echoes = Integer.parseInt(m.group(2));
                int dropped = Integer.parseInt(m.group(3)), ignored = Integer.parseInt(m.group(4));
                assertEquals(ex.arps, arps, "the kernel's ARP count");
                assertEquals(ex.echoes, echoes, "the kernel's echo count");
                assertEquals(v.toGuest(), arps + echoes + dropped + ignored, "every frame netback delivered was answered, dropped or ignored");
                assertTrue(dropped >= bad.malformed, "at least the " + bad.malformed + " malformed frames dropped: " + dropped);
                assertTrue(ignored >= bad.notForIt, "at least the " + bad.notForIt + " frames not for it ignored: " + ignored);
                assertEquals(arps + echoes, v.fromGuest(), "netback took exactly the replies from its tx ring: " + v);
                assertTrue(text.contains("pv-test: netfront: closed\n"), text);
                assertTrue(text.contains("pv-test: all done, powering off"), text);
                assertFalse(text.contains("FAIL"), text);
                assertEquals(DomainState.SHUTDOWN, xen.lookup(d.id()).orElseThrow().state());
                assertTrue(xen.dmesg().stream().noneMatch(l -> l.contains("backend vif") && l.contains("failed")),
                        String.join("\n", xen.dmesg()));
                System.out.printf("[pv-netfront] guest counted %d ARP, %d echo, %d dropped, %d ignored; %d bad frames sent (%d over the MTU,"
                        + " dropped by netback); whole test %d ms%n", arps, echoes, dropped, ignored, bad.frames.size(), bad.overMtu,
                        (System.nanoTime() - t0) / 1_000_000);
            }
        }
    }

    /**
     * Without a shutdown request the kernel serves for net_secs= seconds only, then closes the vif
     * and powers off by itself; without ip= it answers for 10.9.0.2.
     */
    @Test
    void servesForABoundedTimeAtItsDefaultAddress() throws Exception {
        Path kernel = buildKernel();
        try (Rig rig = new Rig()) {
            Domain d = rig.boot(kernel, "net_secs=3");
            try (GuestConsole console = new GuestConsole(rig.xen.console(d.id()))) {
                assertTrue(console.waitFor("pv-test: netfront: connected", 0, 60_000) >= 0, console.text());
                long connected = System.nanoTime();
                new Exchange(rig.host, rig.received, 0x0a090002).arp(HOST_IP);
                long end = System.currentTimeMillis() + 30_000;
                while (System.currentTimeMillis() < end
                        && !rig.xen.lookup(d.id()).map(x -> x.state() == DomainState.SHUTDOWN).orElse(true)) {
                    Thread.sleep(20);
                }
                long served = (System.nanoTime() - connected) / 1_000_000;
                String text = console.text();
                System.out.printf("[pv-netfront] net_secs=3: served %d ms after connecting, then powered off by itself%n", served);
                // its clock (vcpu_time_info extrapolated with RDTSC) runs at the host's pace
                assertTrue(served >= 2_500 && served < 20_000, "served " + served + " ms for net_secs=3\n" + text);
                assertTrue(text.contains(", ip 10.9.0.2, mtu 1500\n"), text);
                assertTrue(text.contains("pv-test: netfront: time is up; answered 1 ARP, 0 echo; dropped 0 bad frames, ignored 0, tx errors 0\n"
                        + "pv-test: netfront: closed\npv-test: all done, powering off"), text);
                assertEquals(DomainState.SHUTDOWN, rig.xen.lookup(d.id()).orElseThrow().state(), text);
                VifInfo v = vif(rig.netback, d.id());
                assertEquals(6, v.backendState(), "netback followed the frontend to Closed: " + v);
            }
        }
    }

    /** A hypervisor with the PV builder, netback on a real switch, the pvtest greeting backend, and a host port on xenbr0. */
    static final class Rig implements AutoCloseable {
        final SwitchService sw = new SwitchService(System::nanoTime, l -> { }, 300_000);
        final Netback netback = new Netback(sw);
        final ExecutorService nic = Executors.newSingleThreadExecutor();
        final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
        final HypervisorCore xen;
        final Port host;

        Rig() {
            Plugins plugins = new Plugins();
            plugins.addScheduler(new CreditSchedulerType());
            plugins.addBuilder(new PvDomainBuilder());
            plugins.addBackend(netback, Netback.KIND);
            plugins.addBackend(new GreetingBackend(), "pvtest");
            xen = new HypervisorCore(CoreConfig.parse("96M", 1, "32M", "credit"), plugins);
            host = sw.bridge("xenbr0").attach("host", nic, (f, len) -> received.add(Arrays.copyOf(f, len)));
        }

        Domain boot(Path kernel, String cmdline) {
            return xen.create(DomainConfig.builder("pv-net").type(DomainType.PV).memoryMiB(16).kernel(kernel.toString()).cmdline(cmdline)
                    .onPoweroff(ShutdownAction.PRESERVE).vifs(List.of("mac=" + Frames.format(GUEST_MAC) + ",bridge=xenbr0"))
                    .raw(Map.of("backends", "[\"pvtest\"]")).build());
        }

        @Override
        public void close() {
            try {
                xen.close();
            } finally {
                nic.shutdownNow();
                netback.close();
                sw.close();
            }
        }
    }

    /** Builds guests/pv-test into target/; skips the test (with the reason) where gcc cannot produce 32-bit code. */
    static Path buildKernel() throws Exception {
        Path script = Path.of("..", "guests", "pv-test", "build.sh").toAbsolutePath().normalize();
        Path kernel = Path.of("target", "pv-test", "pv-test.elf").toAbsolutePath();
        Process p = new ProcessBuilder("sh", script.toString(), kernel.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "kernel build timed out");
        if (p.exitValue() != 0 && out.contains("-m32")) {
            System.out.println("[pv-netfront] skipped: gcc cannot build 32-bit code here (install gcc-multilib):\n" + out);
        }
        assumeTrue(p.exitValue() == 0 || !out.contains("-m32"), "gcc cannot build 32-bit code here:\n" + out);
        assertEquals(0, p.exitValue(), "building the PV test kernel failed:\n" + out);
        return kernel;
    }

    static VifInfo vif(Netback netback, int domid) {
        List<VifInfo> vifs = netback.list(domid);
        assertEquals(1, vifs.size(), vifs.toString());
        return vifs.get(0);
    }

    /** Requests from the host port and the checks of their replies. */
    static final class Exchange {
        final Port host;
        final BlockingQueue<byte[]> received;
        final int guestIp;
        int arps, echoes;
        long minRtt = Long.MAX_VALUE, maxRtt, totalRtt;

        Exchange(Port host, BlockingQueue<byte[]> received, int guestIp) {
            this.host = host;
            this.received = received;
            this.guestIp = guestIp;
        }

        byte[] roundTrip(byte[] request) throws InterruptedException {
            long t = System.nanoTime();
            assertTrue(host.send(request, request.length));
            byte[] reply = received.poll(10, TimeUnit.SECONDS);
            long rtt = System.nanoTime() - t;
            assertNotNull(reply, () -> "no reply to " + hex(request));
            minRtt = Math.min(minRtt, rtt);
            maxRtt = Math.max(maxRtt, rtt);
            totalRtt += rtt;
            return reply;
        }

        void arp(int senderIp) throws InterruptedException {
            byte[] q = new byte[60];
            Frames.put(0xffffffffffffL, q, 0);
            Frames.put(HOST_MAC, q, 6);
            put16(q, 12, 0x0806);
            put16(q, 14, 1);
            put16(q, 16, 0x0800);
            q[18] = 6;
            q[19] = 4;
            put16(q, 20, 1);
            Frames.put(HOST_MAC, q, 22);
            put32(q, 28, senderIp);
            put32(q, 38, guestIp);
            byte[] r = roundTrip(q);
            String what = "ARP reply " + hex(r);
            assertEquals(60, r.length, what); // 42 bytes padded to the Ethernet minimum
            assertEquals(HOST_MAC, Frames.mac(r, 0), what);
            assertEquals(GUEST_MAC, Frames.mac(r, 6), what);
            assertEquals(0x0806, u16(r, 12), what);
            assertEquals(1, u16(r, 14), what);
            assertEquals(0x0800, u16(r, 16), what);
            assertEquals(6, r[18], what);
            assertEquals(4, r[19], what);
            assertEquals(2, u16(r, 20), what);
            assertEquals(GUEST_MAC, Frames.mac(r, 22), what);
            assertEquals(guestIp, u32(r, 28), what);
            assertEquals(HOST_MAC, Frames.mac(r, 32), what);
            assertEquals(senderIp, u32(r, 38), what);
            assertArrayEquals(new byte[18], Arrays.copyOfRange(r, 42, 60), what);
            arps++;
        }

        void echo(int seq, int payload, Random random) throws InterruptedException {
            byte[] data = new byte[payload];
            random.nextBytes(data);
            byte[] q = icmp(GUEST_MAC, guestIp, 8, 0x5678, seq, data);
            byte[] r = roundTrip(q);
            String what = "echo reply (" + payload + " bytes of data) " + hex(r);
            assertEquals(Math.max(60, 14 + 28 + payload), r.length, what);
            assertEquals(HOST_MAC, Frames.mac(r, 0), what);
            assertEquals(GUEST_MAC, Frames.mac(r, 6), what);
            assertEquals(0x0800, u16(r, 12), what);
            assertEquals(0x45, r[14] & 0xff, what);
            assertEquals(28 + payload, u16(r, 16), what);
            assertEquals(0, u16(r, 20) & 0x3fff, "not a fragment: " + what);
            assertTrue((r[22] & 0xff) > 0, "TTL: " + what);
            assertEquals(1, r[23], what);
            assertEquals(0, checksum(r, 14, 20), "IP header checksum: " + what);
            assertEquals(guestIp, u32(r, 26), what);
            assertEquals(HOST_IP, u32(r, 30), what);
            assertEquals(0, r[34], "echo reply type: " + what);
            assertEquals(0, r[35], what);
            assertEquals(0, checksum(r, 34, 8 + payload), "ICMP checksum: " + what);
            assertEquals(0x5678, u16(r, 38), what);
            assertEquals(seq, u16(r, 40), what);
            assertArrayEquals(data, Arrays.copyOfRange(r, 42, 42 + payload), "payload echoed: " + what);
            for (int i = 42 + payload; i < r.length; i++) {
                assertEquals(0, r[i], "padding: " + what);
            }
            echoes++;
        }
    }

    /** Frames the kernel must not answer: malformed ones, ones not for it, ones over the MTU, random bytes. */
    static final class BadFrames {
        final List<byte[]> frames = new ArrayList<>();
        int malformed, notForIt, overMtu;

        BadFrames(Random random) {
            byte[] data = new byte[64];
            random.nextBytes(data);
            // over the MTU: one the guest still gets (within netback's MTU + 18 for a VLAN tag), two netback drops
            byte[] big = icmp(GUEST_MAC, GUEST_IP, 8, 1, 1, new byte[MTU + 18 - 42]);
            malformed(big);
            overMtu += 2;
            frames.add(icmp(GUEST_MAC, GUEST_IP, 8, 1, 2, new byte[2000]));
            frames.add(icmp(GUEST_MAC, GUEST_IP, 8, 1, 3, new byte[9000]));
            // runts
            byte[] runt = new byte[14];
            Frames.put(GUEST_MAC, runt, 0);
            Frames.put(HOST_MAC, runt, 6);
            put16(runt, 12, 0x0806);
            malformed(runt);
            malformed(Arrays.copyOf(icmp(GUEST_MAC, GUEST_IP, 8, 1, 4, data), 30));
            byte[] shortArp = Arrays.copyOf(runt, 41);
            malformed(shortArp);
            // broken IPv4 and ICMP headers
            byte[] f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 5, data);
            f[24] ^= 0x55; // IP header checksum
            malformed(f);
            f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 6, data);
            f[40] ^= 0x55; // ICMP checksum (via the sequence number)
            malformed(f);
            f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 7, data);
            put16(f, 16, 28 + data.length + 100); // total length beyond the frame
            fixIpChecksum(f);
            malformed(f);
            f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 8, data);
            f[14] = 0x44; // IHL 16 bytes
            fixIpChecksum(f);
            malformed(f);
            f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 9, data);
            f[14] = 0x65; // version 6 with an IPv4 EtherType
            fixIpChecksum(f);
            malformed(f);
            f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 10, new byte[0]);
            put16(f, 16, 27); // 7 bytes of ICMP
            fixIpChecksum(f);
            malformed(f);
            f = new byte[60];
            Frames.put(GUEST_MAC, f, 0);
            Frames.put(HOST_MAC, f, 6);
            put16(f, 12, 0x0806);
            put16(f, 14, 1);
            put16(f, 16, 0x0800);
            f[18] = 8; // hardware address length 8
            f[19] = 4;
            put16(f, 20, 1);
            put32(f, 38, GUEST_IP);
            malformed(f);
            // well formed but not for it
            f = icmp(GUEST_MAC, GUEST_IP + 1, 8, 1, 11, data); // another address
            notForIt(f);
            f = icmp(GUEST_MAC, GUEST_IP, 13, 1, 12, data); // timestamp request
            notForIt(f);
            f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 13, data);
            put16(f, 20, 0x2000); // more fragments
            fixIpChecksum(f);
            notForIt(f);
            f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 14, data);
            f[23] = 17; // UDP
            fixIpChecksum(f);
            notForIt(f);
            f = icmp(GUEST_MAC, GUEST_IP, 8, 1, 15, data);
            put16(f, 12, 0x86dd); // IPv6 EtherType
            notForIt(f);
            f = icmp(0x020000000099L, GUEST_IP, 8, 1, 16, data); // another MAC: flooded as unknown unicast
            notForIt(f);
            f = new byte[60];
            Frames.put(0xffffffffffffL, f, 0);
            Frames.put(HOST_MAC, f, 6);
            put16(f, 12, 0x0806);
            put16(f, 14, 1);
            put16(f, 16, 0x0800);
            f[18] = 6;
            f[19] = 4;
            put16(f, 20, 1);
            put32(f, 38, GUEST_IP + 1); // who-has someone else
            notForIt(f);
            // random bytes to its MAC, as IPv4, ARP and anything
            int[] types = {0x0800, 0x0806, -1};
            for (int i = 0; i < 300; i++) {
                byte[] g = new byte[14 + random.nextInt(MTU + 1)];
                random.nextBytes(g);
                Frames.put(GUEST_MAC, g, 0);
                Frames.put(HOST_MAC, g, 6);
                int type = types[i % 3];
                if (type >= 0) {
                    put16(g, 12, type);
                }
                frames.add(g);
            }
        }

        private void malformed(byte[] f) {
            frames.add(f);
            malformed++;
        }

        private void notForIt(byte[] f) {
            frames.add(f);
            notForIt++;
        }
    }

    /** An IPv4 ICMP message of {@code type} from the host to {@code mac}/{@code ip}, both checksums right. */
    static byte[] icmp(long mac, int ip, int type, int id, int seq, byte[] data) {
        byte[] f = new byte[Math.max(60, 14 + 28 + data.length)];
        Frames.put(mac, f, 0);
        Frames.put(HOST_MAC, f, 6);
        put16(f, 12, 0x0800);
        f[14] = 0x45;
        put16(f, 16, 28 + data.length);
        put16(f, 18, seq);
        f[22] = 64;
        f[23] = 1;
        put32(f, 26, HOST_IP);
        put32(f, 30, ip);
        fixIpChecksum(f);
        f[34] = (byte) type;
        put16(f, 38, id);
        put16(f, 40, seq);
        System.arraycopy(data, 0, f, 42, data.length);
        put16(f, 36, checksum(f, 34, 8 + data.length));
        return f;
    }

    static void fixIpChecksum(byte[] f) {
        put16(f, 24, 0);
        put16(f, 24, checksum(f, 14, 20));
    }

    /** The Internet checksum (RFC 1071); 0 over a message that carries a correct one. */
    static int checksum(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += u16(b, off + i);
        }
        if ((len & 1) != 0) {
            sum += (b[off + len - 1] & 0xff) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    static int u16(byte[] b, int o) {
        return ((b[o] & 0xff) << 8) | (b[o + 1] & 0xff);
    }

    static int u32(byte[] b, int o) {
        return (u16(b, o) << 16) | u16(b, o + 2);
    }

    static void put16(byte[] b, int o, int v) {
        b[o] = (byte) (v >> 8);
        b[o + 1] = (byte) v;
    }

    static void put32(byte[] b, int o, int v) {
        put16(b, o, v >>> 16);
        put16(b, o + 2, v);
    }

    static String hex(byte[] f) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(f.length, 64); i++) {
            s.append(String.format("%02x", f[i] & 0xff));
        }
        return s + (f.length > 64 ? "... (" + f.length + " bytes)" : " (" + f.length + " bytes)");
    }

    /** Domain 0's end of pv-test's step 3 (as the example bundle's PvTestBackend): answer the granted page, bind the port. */
    static final class GreetingBackend implements Backend {
        @Override
        public BackendInstance attach(BackendContext ctx) {
            String dir = ctx.frontendPath() + "/data/pv-test";
            boolean[] done = {false};
            var watch = ctx.store().watch(dir + "/state", changed -> {
                if (done[0] || !"ready".equals(ctx.store().read(dir + "/state"))) {
                    return;
                }
                done[0] = true;
                GrantMapping m = ctx.mapGrant(Integer.parseInt(ctx.store().read(dir + "/ring-ref")), true);
                byte[] reply = "backend-was-here\0".getBytes(StandardCharsets.US_ASCII);
                m.write(2048, reply, 0, reply.length);
                m.unmap();
                var port = ctx.bindInterdomain(Integer.parseInt(ctx.store().read(dir + "/port")), () -> { });
                ctx.store().write(dir + "/state", "connected");
                port.notifyRemote();
            });
            return watch::cancel;
        }
    }
}
