package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.MacEntry;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * Issue 15 §2: the emulated NICs of a guest that moved announce it on the destination's bridge, as
 * QEMU's self-announce does — a guest on an RTL8139 or NE2000 does not know it moved and sends
 * nothing by itself. Two hypervisor cores in this JVM, each with its own virtual switch and qemu-dm;
 * an "uplink" port on each bridge stands for what lies behind it (a TAP, a Linux bridge). After a
 * live migration the destination's uplink gets five RARP reverse requests per NIC from the NIC's MAC
 * and the destination's bridge has learned the MAC on the NIC's new port before the guest sent a
 * frame (it spins: it never does); the source's uplink gets none. A restore announces again; a
 * migration that fails (wrong secret) announces nothing anywhere. Through a Linux bridge (Linux's
 * own learning as the oracle): each side's bridge joins a TAP, both TAPs are ports of one Linux
 * bridge in a network namespace of this test; the guest's MAC, learned on the source's TAP, is on
 * the destination's TAP in the Linux bridge's forwarding database after the migration.
 */
class SelfAnnounceTest {

    private static final String SECRET = "announce-test-secret";
    private static final String MAC1 = "00:16:3e:5a:11:01", MAC2 = "00:16:3e:5a:11:02";

    @TempDir
    Path dir;

    /** What the uplink port of a bridge received. */
    private static final class Uplink {
        final List<byte[]> frames = new ArrayList<>();

        synchronized List<byte[]> rarp(String mac) {
            byte[] m = mac(mac);
            return frames.stream().filter(f -> f.length >= 14 && (f[12] & 0xff) == 0x80 && (f[13] & 0xff) == 0x35
                    && Arrays.equals(Arrays.copyOfRange(f, 6, 12), m)).toList();
        }

        synchronized int allRarp() {
            return (int) frames.stream().filter(f -> f.length >= 14 && (f[12] & 0xff) == 0x80 && (f[13] & 0xff) == 0x35).count();
        }
    }

    private static final class Side implements AutoCloseable {
        final SwitchService vswitch = new SwitchService();
        final BlockImagesService images = new BlockImagesService();
        final ExecutorService uplinkThread = Executors.newSingleThreadExecutor();
        final Uplink uplink = new Uplink();
        final Bridge bridge = vswitch.bridge("xenbr0");
        final HypervisorCore core;

        Side() {
            Plugins plugins = new Plugins();
            plugins.addScheduler(new CreditSchedulerType());
            plugins.addBuilder(new HvmGuestBuilder());
            plugins.addDeviceModel(new QemuDeviceModel(vswitch, images));
            core = new HypervisorCore(CoreConfig.parse("96M", 1, "16M", "credit"), plugins);
            bridge.attach("uplink", uplinkThread, (f, len) -> {
                synchronized (uplink) {
                    uplink.frames.add(Arrays.copyOf(f, len));
                }
            });
        }

        @Override
        public void close() {
            core.close();
            images.close();
            vswitch.close();
            uplinkThread.shutdownNow();
        }
    }

    @Test
    void theDestinationAnnouncesEachNicsMacAfterAMigrationAndARestore() throws Exception {
        try (Side src = new Side(); Side dst = new Side()) {
            int port = dst.core.configureMigration(SECRET, true, "127.0.0.1", 0);
            src.core.configureMigration(SECRET, false, null, 0);
            Domain d = src.core.create(DomainConfig.builder("moving").type(DomainType.HVM).memoryMiB(16).kernel(spinKernel().toString())
                    .vifs(List.of("model=rtl8139,mac=" + MAC1, "model=ne2k_pci,mac=" + MAC2)).build());
            Thread.sleep(300);
            assertEquals(0, src.uplink.allRarp() + dst.uplink.allRarp(), "a fresh boot announces nothing");

            // a failed migration (the wrong secret) leaves it at the source: nobody announces
            src.core.configureMigration("not-the-secret", false, null, 0);
            try {
                src.core.migrate(d.id(), "127.0.0.1", port, true, 20, 30);
            } catch (RuntimeException expected) {
                // refused
            }
            src.core.configureMigration(SECRET, false, null, 0);

            src.core.migrate(d.id(), "127.0.0.1", port, true, 20, 30);
            Domain there = dst.core.lookup("moving").orElseThrow();
            for (String mac : List.of(MAC1, MAC2)) {
                List<byte[]> got = await(dst.uplink, mac, 5);
                for (byte[] f : got) {
                    checkRarp(f, mac);
                }
            }
            String vif0 = "vif" + there.id() + ".0-emu", vif1 = "vif" + there.id() + ".1-emu";
            Map<String, String> learned = new java.util.HashMap<>();
            for (MacEntry e : dst.bridge.macTable()) {
                learned.put(e.mac(), e.port());
            }
            assertEquals(vif0, learned.get(MAC1), "the destination's bridge learned the RTL8139's MAC on its port: " + learned);
            assertEquals(vif1, learned.get(MAC2), "and the NE2000's: " + learned);
            Thread.sleep(1_200); // the announce lasts 0.8 s: nothing more comes after the five
            assertEquals(5, dst.uplink.rarp(MAC1).size(), "five frames per NIC, as QEMU's default rounds");
            assertEquals(5, dst.uplink.rarp(MAC2).size());
            assertEquals(0, src.uplink.allRarp(), "the source does not announce a guest that left it");

            // a restore is an incoming migration from a file: it announces again, on the restored domain's port
            Path image = dir.resolve("moving.save");
            dst.core.save(there.id(), image, false);
            Domain restored = dst.core.restore(image, Map.of(), false);
            await(dst.uplink, MAC1, 10);
            await(dst.uplink, MAC2, 10);
            String learnedAfter = dst.bridge.macTable().stream().filter(e -> e.mac().equals(MAC1)).map(MacEntry::port).findFirst()
                    .orElse(null);
            assertEquals("vif" + restored.id() + ".0-emu", learnedAfter);
            dst.core.destroy(restored.id());
        }
    }

    @Test
    void aLinuxBridgeBehindTheTapsMovesTheMacToTheDestinationsTap() throws Exception {
        skipUnless(Files.exists(Path.of("/dev/net/tun")), "no /dev/net/tun");
        long pid = ProcessHandle.current().pid();
        String ns = "xenjsa" + pid, tapA = "xsaA" + pid % 100000, tapB = "xsaB" + pid % 100000;
        String added = sh("ip", "netns", "add", ns);
        skipUnless(!added.startsWith("exit"), "cannot create a network namespace: " + added.trim());
        try (Side src = new Side(); Side dst = new Side()) {
            for (String[] c : new String[][] {{"link", "add", "br0", "type", "bridge"}, {"link", "set", "br0", "up"}}) {
                assertEquals("", sh(concat(new String[] {"ip", "-n", ns}, c)));
            }
            for (Object[] side : new Object[][] {{src, tapA}, {dst, tapB}}) {
                String tap = (String) side[1];
                String link = ((Side) side[0]).bridge.attachTap(tap);
                skipUnless(!link.contains("unavailable"), link);
                assertEquals("", sh("ip", "link", "set", tap, "netns", ns));
                assertEquals("", sh("ip", "-n", ns, "link", "set", tap, "master", "br0", "up"));
            }
            int port = dst.core.configureMigration(SECRET, true, "127.0.0.1", 0);
            src.core.configureMigration(SECRET, false, null, 0);
            Domain d = src.core.create(DomainConfig.builder("moving").type(DomainType.HVM).memoryMiB(16).kernel(spinKernel().toString())
                    .vifs(List.of("model=rtl8139,mac=" + MAC1)).build());
            // the guest spins and sends nothing: a frame from its MAC on the source's side teaches the Linux bridge where it is
            org.xenj.dom0.vswitch.api.Port here = src.bridge.attach("as-the-guest", src.uplinkThread, (f, len) -> { });
            byte[] hello = new byte[60];
            Arrays.fill(hello, 0, 6, (byte) 0xff);
            System.arraycopy(mac(MAC1), 0, hello, 6, 6);
            hello[12] = (byte) 0x88; // a local experimental EtherType: nobody answers it
            hello[13] = (byte) 0xb5;
            here.send(hello, hello.length);
            assertTrue(awaitFdb(ns, MAC1, tapA), "the Linux bridge learned the guest on " + tapA + ": " + fdb(ns));
            here.close();

            src.core.migrate(d.id(), "127.0.0.1", port, true, 20, 30);
            assertTrue(awaitFdb(ns, MAC1, tapB), "after the migration the Linux bridge has the guest on " + tapB + ": " + fdb(ns));
            System.out.println("[self-announce] Linux bridge after the migration: " + fdb(ns).lines().filter(l -> l.startsWith(MAC1))
                    .findFirst().orElse("?"));
        } finally {
            sh("ip", "netns", "del", ns);
        }
    }

    private static boolean awaitFdb(String ns, String mac, String tap) throws Exception {
        long end = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < end) {
            if (fdb(ns).lines().anyMatch(l -> l.startsWith(mac + " dev " + tap + " "))) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    private static String fdb(String ns) throws Exception {
        return sh("bridge", "-n", ns, "fdb", "show", "br", "br0");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** A host command's output, or "exit N: output". */
    private static String sh(String... cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return "exit -1: " + e.getMessage();
        }
        if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "exit -1: timeout";
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }

    private static void skipUnless(boolean condition, String why) {
        if (!condition) {
            System.out.println("[self-announce] skipped: " + why);
        }
        assumeTrue(condition, why);
    }

    /** The frame, field by field, against the RARP layout (RFC 903 over RFC 826's packet). */
    private static void checkRarp(byte[] f, String mac) {
        byte[] m = mac(mac);
        assertEquals(60, f.length, "Ethernet's minimum without FCS");
        assertTrue(Arrays.equals(new byte[] {-1, -1, -1, -1, -1, -1}, Arrays.copyOfRange(f, 0, 6)), "to broadcast");
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.BIG_ENDIAN);
        assertEquals(0x8035, b.getShort(12) & 0xffff, "EtherType RARP");
        assertEquals(1, b.getShort(14), "hardware type Ethernet");
        assertEquals(0x0800, b.getShort(16), "protocol IPv4");
        assertEquals(6, f[18]);
        assertEquals(4, f[19]);
        assertEquals(3, b.getShort(20), "reverse request");
        assertTrue(Arrays.equals(m, Arrays.copyOfRange(f, 22, 28)), "sender hardware address");
        assertEquals(0, b.getInt(28), "sender IP unknown");
        assertTrue(Arrays.equals(m, Arrays.copyOfRange(f, 32, 38)), "target hardware address");
        assertEquals(0, b.getInt(38), "target IP unknown");
        for (int i = 42; i < 60; i++) {
            assertEquals(0, f[i], "padding at " + i);
        }
    }

    private static List<byte[]> await(Uplink u, String mac, int n) throws InterruptedException {
        long end = System.currentTimeMillis() + 30_000;
        while (u.rarp(mac).size() < n && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        List<byte[]> got = u.rarp(mac);
        assertEquals(n, got.size(), "RARP frames from " + mac + " on the destination's uplink");
        return got;
    }

    private static byte[] mac(String s) {
        return HexFormat.ofDelimiter(":").parseHex(s);
    }

    /** A Multiboot kernel that spins ({@code jmp $}): it never sends a frame of its own. */
    private Path spinKernel() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(36).order(ByteOrder.LITTLE_ENDIAN);
        int magic = 0x1BADB002, flags = 0x00010000;
        b.putInt(magic).putInt(flags).putInt(-(magic + flags));
        b.putInt(0x100000).putInt(0x100000).putInt(0x100000 + 36).putInt(0).putInt(0x100000 + 32);
        b.put((byte) 0xeb).put((byte) 0xfe);
        Path k = dir.resolve("spin.bin");
        Files.write(k, b.array());
        return k;
    }
}
