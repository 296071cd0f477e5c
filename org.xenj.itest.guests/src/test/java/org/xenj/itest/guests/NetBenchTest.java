package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.netback.internal.Netback;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * bench/net.sh: TCP throughput (busybox {@code dd} of 64 MiB piped into busybox {@code nc}) and ping
 * round trips, guest to host (a receiver in the bench's network namespace behind a TAP) and guest
 * to guest, over xenj's netfront (PVHVM), RTL8139 and NE2000, and QEMU TCG booting the same
 * 686-pae guest with the same busybox on rtl8139 (8139cp) and e1000 with {@code -netdev tap}, in
 * the same run. MB/s = MiB per second of host wall time: on the receiving end from the first byte
 * to the last (the host's receiver), or from the typed command to the guest receiver's mark.
 * Runs only with {@code -Dxenj.bench.net=GUEST_DIR}; needs root, /dev/net/tun and namespaces.
 */
class NetBenchTest {

    static final int MIB = Integer.getInteger("xenj.bench.net.mib", 64);
    static final long BYTES = MIB * 1024L * 1024L;
    static final String CMDLINE = "console=ttyS0 cryptomgr.notests nokaslr";
    /** Counts what one connection brings until {@code want} bytes; prints "bytes seconds" (first to last byte). */
    static final String RECEIVER = "import socket,sys,time\n"
            + "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',int(sys.argv[1]))); s.listen(1)\n"
            + "print('listening',flush=True)\n"
            + "c,a=s.accept(); n=0; t0=None; want=int(sys.argv[2])\n"
            + "while n<want:\n"
            + "    b=c.recv(1<<16)\n"
            + "    if not b: break\n"
            + "    if t0 is None: t0=time.monotonic()\n"
            + "    n+=len(b)\n"
            + "t1=time.monotonic(); c.close()\n"
            + "print(n, (t1-t0) if t0 else 0, flush=True)\n";
    private static final Pattern RTT = Pattern.compile("round-trip min/avg/max = ([0-9.]+)/([0-9.]+)/([0-9.]+) ms");

    private final Map<String, String> rows = new LinkedHashMap<>();
    private NetNamespace ns;
    private int port = 5001;

    @Test
    void throughputAndRoundTripsOverEveryNic() throws Exception {
        String dir = System.getProperty("xenj.bench.net");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.bench.net=GUEST_DIR to run the network benchmark");
        Path guest = Path.of(dir);
        Path scratch = Files.createTempDirectory("xenj-netbench-");
        SwitchService sw = new SwitchService();
        ns = NetNamespace.open(sw.bridge("xenbr0"), 1);
        assumeTrue(ns.unavailable == null, "no network namespace with a TAP: " + ns.unavailable);
        try {
            xenj(guest, sw);
            qemu(guest, scratch);
        } finally {
            ns.close();
            sw.close();
        }
        System.out.println("[net-bench] " + MIB + " MiB over TCP (busybox dd | nc), ping -c 10; MB/s = MiB per second of host wall time");
        System.out.printf("[net-bench] %-44s %s%n", "path", "result");
        rows.forEach((k, v) -> System.out.printf("[net-bench] %-44s %s%n", k, v));
    }

    private void xenj(Path guest, SwitchService sw) throws Exception {
        Netback netback = new Netback(sw);
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel(sw));
        plugins.addBackend(netback, Netback.KIND);
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("460M", 2, "32M", "credit"), plugins)) {
            Domain pvDom = xen.create(config(guest, "pv", "1", List.of("mac=00:16:3e:00:00:01,bridge=xenbr0")));
            Domain pcDom = xen.create(config(guest, "pc", "0", List.of("model=rtl8139,mac=00:16:3e:00:00:02,bridge=xenbr0",
                    "model=ne2k_pci,mac=00:16:3e:00:00:03,bridge=xenbr0")));
            try (GuestShell pv = new GuestShell("pv", xen.console(pvDom.id())); GuestShell pc = new GuestShell("pc", xen.console(pcDom.id()))) {
                for (GuestShell g : List.of(pv, pc)) {
                    assertTrue(g.waitFor(GuestShell.PROMPT, 0, 1_500_000) >= 0, g.name() + ": no prompt:\n" + g.tail());
                }
                String vif = Net.nicWithMac(pv, "00:16:3e:00:00:01", "vif");
                String rtl = Net.nicWithMac(pc, "00:16:3e:00:00:02", "8139too");
                String ne = Net.nicWithMac(pc, "00:16:3e:00:00:03", "ne2k-pci");
                pv.run("ip addr add 10.99.0.1/24 dev " + vif + "; ip addr add 10.99.1.1/24 dev " + vif + "; ip link set " + vif + " up", 60);
                pc.run("echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore; ip addr add 10.99.0.2/24 dev " + rtl + "; ip link set " + rtl
                        + " up; ip addr add 10.99.1.2/24 dev " + ne + "; ip link set " + ne + " up; sleep 2", 60);
                rows.put("xenj netfront (PVHVM) RTT to the host", rtt(pv, NetNamespace.ADDRESS));
                rows.put("xenj rtl8139 RTT to the host", rtt(pc, NetNamespace.ADDRESS));
                rows.put("xenj ne2k_pci RTT to the host", rtt(pc, NetNamespace.ADDRESS2));
                rows.put("xenj netfront -> host", toHost(pv, NetNamespace.ADDRESS));
                rows.put("xenj rtl8139 -> host", toHost(pc, NetNamespace.ADDRESS));
                rows.put("xenj ne2k_pci -> host", toHost(pc, NetNamespace.ADDRESS2));
                rows.put("xenj netfront -> rtl8139 (guest to guest)", toGuest(pv, pc, "10.99.0.2"));
                rows.put("xenj netfront -> ne2k_pci (guest to guest)", toGuest(pv, pc, "10.99.1.2"));
                pv.powerOff();
                pc.powerOff();
                printWakeLatencies(xen, pvDom.id(), pcDom.id());
            }
        } finally {
            netback.close();
        }
    }

    /** After poweroff: the hypervisor's per-vCPU wake-to-run latency lines (logged as each domain goes). */
    private static void printWakeLatencies(HypervisorCore xen, int... domids) throws InterruptedException {
        long end = System.currentTimeMillis() + 60_000;
        for (int id : domids) {
            while (xen.lookup(id).isPresent() && System.currentTimeMillis() < end) {
                Thread.sleep(50);
            }
        }
        xen.dmesg().stream().filter(l -> l.contains("wake-ups")).forEach(l -> System.out.println("[net-bench] " + l));
    }

    private static DomainConfig config(Path guest, String name, String platformPci, List<String> vifs) {
        return DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(200).kernel(guest.resolve("bzImage").toString())
                .ramdisk(guest.resolve("initramfs.cpio.gz").toString()).cmdline(CMDLINE).onPoweroff(ShutdownAction.DESTROY).vifs(vifs)
                .raw(Map.of("xen_platform_pci", platformPci)).build();
    }

    /** QEMU TCG, same kernel and initramfs (plus 8139cp and e1000 from the same package), -netdev tap in the namespace. */
    private void qemu(Path guest, Path scratch) throws Exception {
        if (!Files.isExecutable(QemuGuest.QEMU)) {
            rows.put("QEMU", "n/a: qemu-system-i386 not installed");
            return;
        }
        Path initrd = QemuGuest.initrdWithModules(guest, scratch, List.of("8139cp", "e1000"));
        if (initrd == null) {
            rows.put("QEMU", "n/a: no 8139cp/e1000 modules in the kernel package");
            return;
        }
        String setup = ns.exec(10, "ip", "tuntap", "add", "qt0", "mode", "tap") + ns.exec(10, "ip", "addr", "add", "10.98.0.254/24", "dev", "qt0")
                + ns.exec(10, "ip", "link", "set", "qt0", "up");
        if (!setup.isBlank()) {
            rows.put("QEMU", "n/a: " + setup.trim());
            return;
        }
        // QEMU's rtl8139 says revision 0x20 (C+), which Linux leaves to 8139cp rather than 8139too
        for (String[] nic : new String[][] { { "rtl8139", "8139cp" }, { "e1000", "e1000" } }) {
            try (QemuGuest q = QemuGuest.start(guest, initrd, CMDLINE, ns.ns, List.of("-netdev", "tap,id=n0,ifname=qt0,script=no,downscript=no",
                    "-device", nic[0] + ",netdev=n0,mac=52:54:00:12:34:56")); GuestShell g = new GuestShell("qemu-" + nic[0], q.console())) {
                assertTrue(g.waitFor(GuestShell.PROMPT, 0, 600_000) >= 0, "QEMU guest: no prompt:\n" + g.tail());
                g.run("insmod /extra/" + nic[1] + ".ko 2>&1", 60);
                String dev = Net.nicWithMac(g, "52:54:00:12:34:56", nic[1]);
                g.run("ip addr add 10.98.0.1/24 dev " + dev + "; ip link set " + dev + " up; sleep 2", 60);
                rows.put("QEMU TCG " + nic[0] + " RTT to the host", rtt(g, "10.98.0.254"));
                rows.put("QEMU TCG " + nic[0] + " -> host", toHost(g, "10.98.0.254"));
            }
        }
    }

    private static String rtt(GuestShell g, String to) throws Exception {
        String out = g.run("ping -c 10 " + to, 120);
        Matcher m = RTT.matcher(out);
        return m.find() ? "avg " + m.group(2) + " ms (min " + m.group(1) + ", max " + m.group(3) + ")" : "no answer: " + out.trim();
    }

    /** dd | nc into the namespace's receiver at {@code address}. */
    private String toHost(GuestShell g, String address) throws Exception {
        int p = port++;
        Process rx = new ProcessBuilder("ip", "netns", "exec", ns.ns, "python3", "-c", RECEIVER, String.valueOf(p), String.valueOf(BYTES))
                .redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(rx.getInputStream(), StandardCharsets.UTF_8));
        String first = out.readLine();
        assertTrue("listening".equals(first), "the receiver did not start: " + first);
        long t0 = System.nanoTime();
        g.run("dd if=/dev/zero bs=65536 count=" + (BYTES / 65536) + " 2>/dev/null | nc " + address + " " + p, 1800);
        double wall = (System.nanoTime() - t0) / 1e9;
        String result = out.readLine();
        if (!rx.waitFor(10, TimeUnit.SECONDS)) {
            rx.destroyForcibly();
        }
        String[] f = result == null ? new String[0] : result.trim().split(" ");
        if (f.length != 2 || Long.parseLong(f[0]) != BYTES) {
            return "incomplete: the host received " + result;
        }
        double s = Double.parseDouble(f[1]);
        return String.format("%6.2f MB/s (first to last byte %.1f s; %.1f s from the typed command)", MIB / s, s, wall);
    }

    /** dd | nc from {@code from} into busybox nc listening in {@code to}; the receiver marks when it has every byte. */
    private String toGuest(GuestShell from, GuestShell to, String address) throws Exception {
        int p = port++;
        int mark = to.text().length();
        to.type("nc -l -p " + p + " | (head -c " + BYTES + " | wc -c; echo got-" + p + "-$((6*7)))\n");
        Thread.sleep(1000);
        long t0 = System.nanoTime();
        from.type("dd if=/dev/zero bs=65536 count=" + (BYTES / 65536) + " 2>/dev/null | nc -w 3 " + address + " " + p + "\n");
        int got = to.waitFor("got-" + p + "-42", mark, 1_800_000);
        double s = (System.nanoTime() - t0) / 1e9;
        String seen = got < 0 ? to.tail() : to.text().substring(mark, got);
        from.run("true", 120); // the sender is back at its prompt
        to.type("\n");
        if (got < 0 || !seen.contains(String.valueOf(BYTES))) {
            return "incomplete: " + seen.replaceAll("\\s+", " ").trim();
        }
        return String.format("%6.2f MB/s (%.1f s from the typed command to the receiver's last byte)", MIB / s, s);
    }
}
