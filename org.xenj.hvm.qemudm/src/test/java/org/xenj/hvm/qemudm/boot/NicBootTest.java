package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.vswitch.api.Bridge;
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
 * One Debian guest (686-pae kernel with {@code xen_platform_pci=0}: a bare PC) with
 * {@code vif = ['model=rtl8139,mac=00:16:3e:00:00:01', 'model=ne2k_pci,mac=00:16:3e:00:00:02']}
 * on {@code xenbr0} of a real virtual switch, next to a Java responder (ARP and ICMP echo for
 * 10.0.0.1 and 10.0.1.1). Linux's own 8139too and ne2k-pci (loaded by /init) must bind the two
 * functions and read their MACs, busybox {@code ip} gives them 10.0.0.2/24 and 10.0.1.2/24, and
 * {@code ping -c 20} through each NIC must get 20 answers of 20. Then qemu-dm hands its devices over
 * to a new instance (as on a bundle update) and 10 pings of 1428-byte frames through each NIC must
 * all be answered: registers, BARs, rings and switch ports survive.
 * Runs only with {@code -Dxenj.nic.dir=DIR} (tests/nic-hvm.sh sets it): a boot takes minutes.
 */
class NicBootTest {

    static final String PROMPT = "~ # ";
    static final String RTL_MAC = "00:16:3e:00:00:01", NE_MAC = "00:16:3e:00:00:02";
    /**
     * Extra kernel arguments (none: the 32-bit vDSO's RDTSCP, which used to #GP in ring 3 and kill
     * busybox ping, is fixed in the CPU; {@code -Dxenj.nic.cmdline=vdso32=0} takes the system-call path).
     */
    static final String EXTRA_CMDLINE = System.getProperty("xenj.nic.cmdline", "");

    @Test
    void linuxDriversPingThroughBothEmulatedNics() throws Exception {
        String dir = System.getProperty("xenj.nic.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.nic.dir to run the emulated NIC boot test");
        Path guest = Path.of(dir);
        assertTrue(Files.isRegularFile(guest.resolve("bzImage")), "no bzImage in " + guest);
        long timeoutMs = Long.getLong("xenj.boot.timeout", 1200) * 1000;

        SwitchService vswitch = new SwitchService();
        Bridge xenbr0 = vswitch.bridge("xenbr0");
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        QemuDeviceModel firstModel = new QemuDeviceModel(vswitch);
        plugins.addDeviceModel(firstModel);
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("330M", 1, "32M", "credit"), plugins);
                EchoResponder responder = new EchoResponder(xenbr0, EchoResponder.ip(10, 0, 0, 1), EchoResponder.ip(10, 0, 1, 1))) {
            long t0 = System.nanoTime();
            DomainConfig cfg = DomainConfig.builder("nic").type(DomainType.HVM).memoryMiB(256)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(LinuxBootTest.CMDLINE + " " + EXTRA_CMDLINE).onPoweroff(ShutdownAction.DESTROY)
                    .vifs(List.of("model=rtl8139,mac=" + RTL_MAC + ",bridge=xenbr0", "model=ne2k_pci,mac=" + NE_MAC + ",bridge=xenbr0"))
                    .raw(Map.of("xen_platform_pci", "0")).build();
            Domain d = xen.create(cfg);
            try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(d.id()))) {
                int prompt = c.waitFor(PROMPT, 0, timeoutMs);
                assertTrue(prompt >= 0, "no shell prompt; console:\n" + LinuxBootTest.tail(c.text()) + "\ndmesg:\n"
                        + String.join("\n", xen.dmesg()));
                System.out.printf("[nic-hvm] prompt after %.1f s%n", (System.nanoTime() - t0) / 1e9);

                int at = run(c, prompt, "dmesg | grep -i -E '8139|ne2k|8029|eth[0-9]'; "
                        + "for n in /sys/class/net/eth*; do echo \"nic ${n##*/} $(cat $n/address) $(readlink $n/device/driver)\"; done",
                        "list", 300_000);
                String listing = c.text().substring(prompt, at);
                System.out.println("[nic-hvm] guest:\n" + listing);
                String rtl = iface(listing, RTL_MAC), ne = iface(listing, NE_MAC);
                assertTrue(rtl != null && listing.matches("(?s).*nic " + rtl + " " + RTL_MAC + " \\S*8139too.*"),
                        "8139too did not bind the RTL8139 with its EEPROM MAC:\n" + listing);
                assertTrue(ne != null && listing.matches("(?s).*nic " + ne + " " + NE_MAC + " \\S*ne2k-pci.*"),
                        "ne2k-pci did not bind the NE2000 with its PROM MAC:\n" + listing);

                int up = run(c, at, "busybox ip addr add 10.0.0.2/24 dev " + rtl + "; busybox ip link set " + rtl + " up; "
                        + "busybox ip addr add 10.0.1.2/24 dev " + ne + "; busybox ip link set " + ne + " up; sleep 3; "
                        + "busybox ip addr; dmesg | grep -i -E 'link|eth'; grep -E 'vdso|vvar' /proc/self/maps", "up", 120_000);
                System.out.println("[nic-hvm] configured:\n" + c.text().substring(at, up));
                at = up;
                long p0 = System.nanoTime();
                int rtlPing = run(c, at, "busybox ping -c 20 10.0.0.1", "ping1", 300_000);
                String rtlOut = c.text().substring(at, rtlPing);
                double rtlSeconds = (System.nanoTime() - p0) / 1e9;
                p0 = System.nanoTime();
                int nePing = run(c, rtlPing, "busybox ping -c 20 10.0.1.1", "ping2", 300_000);
                String neOut = c.text().substring(rtlPing, nePing);
                double neSeconds = (System.nanoTime() - p0) / 1e9;
                System.out.printf("[nic-hvm] rtl8139 (%s) %.1f s: %s%n", rtl, rtlSeconds, summary(rtlOut));
                System.out.printf("[nic-hvm] ne2k_pci (%s) %.1f s: %s%n", ne, neSeconds, summary(neOut));
                System.out.println("[nic-hvm] responder: " + responder.arpAnswered.get() + " ARP, " + responder.echoAnswered.get()
                        + " echo answered; port " + responder.counters());
                xenbr0.ports().forEach(p -> System.out.println("[nic-hvm] port " + p.name() + " " + p.counters()));
                assertTrue(rtlOut.contains("20 packets transmitted, 20 packets received, 0% packet loss"),
                        "ping over the RTL8139:\n" + rtlOut + "\n" + diagnose(c, nePing));
                assertTrue(neOut.contains("20 packets transmitted, 20 packets received, 0% packet loss"),
                        "ping over the NE2000:\n" + neOut);

                // qemu-dm hands its devices over (as a bundle update does): the NICs must go on working
                plugins.removeDeviceModel(firstModel);
                plugins.addDeviceModel(new QemuDeviceModel(vswitch));
                assertTrue(waitForLog(xen, "device model qemu-dm handed over", 60_000), "no hand-over:\n" + String.join("\n", xen.dmesg()));
                xen.dmesg().stream().filter(l -> l.contains("handed over") || l.contains("going away"))
                        .forEach(l -> System.out.println("[nic-hvm] " + l.trim()));
                int afterRtl = run(c, nePing, "busybox ping -c 10 -s 1400 10.0.0.1", "ho1", 300_000);
                String hoRtl = c.text().substring(nePing, afterRtl);
                int afterNe = run(c, afterRtl, "busybox ping -c 10 -s 1400 10.0.1.1", "ho2", 300_000);
                String hoNe = c.text().substring(afterRtl, afterNe);
                System.out.printf("[nic-hvm] after the hand-over, 1428-byte frames: rtl8139 %s; ne2k_pci %s%n", summary(hoRtl), summary(hoNe));
                assertTrue(hoRtl.contains("10 packets transmitted, 10 packets received, 0% packet loss"),
                        "ping over the RTL8139 after the hand-over:\n" + hoRtl + "\n" + diagnose(c, afterNe));
                assertTrue(hoNe.contains("10 packets transmitted, 10 packets received, 0% packet loss"),
                        "ping over the NE2000 after the hand-over:\n" + hoNe + "\n" + diagnose(c, afterNe));

                c.access.write("poweroff -f\n".getBytes(StandardCharsets.US_ASCII));
                long end = System.currentTimeMillis() + 120_000;
                while (xen.lookup(d.id()).isPresent() && System.currentTimeMillis() < end) {
                    Thread.sleep(50);
                }
                assertTrue(xen.lookup(d.id()).isEmpty(), "poweroff -f did not end the domain");
            }
            xen.dmesg().stream().filter(l -> l.contains("qemu-dm") || l.contains("PCI 00:0"))
                    .forEach(l -> System.out.println("[nic-hvm] " + l.trim()));
            System.out.printf("[nic-hvm] booted, pinged and powered off in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        } finally {
            vswitch.close();
        }
    }

    /** Sends {@code command} followed by an end marker and waits for the marker. */
    private static int run(LinuxBootTest.Console c, int from, String command, String tag, long millis) throws InterruptedException {
        c.access.write((command + "; echo " + tag + "-$((6*7))\n").getBytes(StandardCharsets.US_ASCII));
        int end = c.waitFor(tag + "-42", from, millis);
        assertTrue(end >= 0, "shell did not answer '" + command + "':\n" + LinuxBootTest.tail(c.text()));
        return end;
    }

    private static boolean waitForLog(HypervisorCore xen, String text, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            if (xen.dmesg().stream().anyMatch(l -> l.contains(text))) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** What the guest saw of its NICs, for a failure message. */
    private static String diagnose(LinuxBootTest.Console c, int from) throws InterruptedException {
        int end = run(c, from, "cat /proc/net/arp; cat /proc/interrupts; for n in /sys/class/net/eth*; do echo ${n##*/} "
                + "$(cat $n/statistics/rx_packets) $(cat $n/statistics/tx_packets) $(cat $n/statistics/rx_errors) "
                + "$(cat $n/statistics/tx_errors); done; dmesg | tail -20", "diag", 120_000);
        return c.text().substring(from, end);
    }

    private static String iface(String listing, String mac) {
        Matcher m = Pattern.compile("nic (eth\\d+) " + mac).matcher(listing);
        return m.find() ? m.group(1) : null;
    }

    private static String summary(String out) {
        Matcher m = Pattern.compile("(\\d+ packets transmitted.*loss)\\s*(round-trip[^\\n]*)?").matcher(out);
        return m.find() ? m.group(0).replaceAll("\\s+", " ") : "no summary";
    }
}
