package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the bare-PC guest (pc, {@code xen_platform_pci=0}) must show: no hypervisor, Linux's own
 * ata_piix on the PIIX3 IDE (disk and CD-ROM), 8139too and ne2k-pci on the emulated NICs.
 */
final class BarePcChecks {

    static final String IDE_TEXT = "written by the guest over ata_piix";
    static final Pattern COUNTERS = Pattern.compile("stat (\\S+) (\\d+) (\\d+) (\\d+) (\\d+)");

    private final GuestDevicesBootTest t;
    private final GuestShell pc;

    BarePcChecks(GuestDevicesBootTest t) {
        this.t = t;
        this.pc = t.pc;
    }

    Object noHypervisor() throws Exception {
        String boot = pc.text();
        assertFalse(boot.contains("Hypervisor detected"), "pc: the kernel found a hypervisor:\n" + GuestShell.tail(boot));
        assertFalse(boot.contains("Xen HVM"), "pc: the kernel found Xen:\n" + GuestShell.tail(boot));
        String vendors = pc.run("cat /sys/bus/pci/devices/*/vendor", 300);
        System.out.println("[guest-devices] pc: PCI vendors " + vendors.replaceAll("\\s+", " "));
        assertTrue(vendors.contains("0x8086"), "pc sees no PCI bus at all:\n" + vendors);
        assertFalse(vendors.contains("0x5853"), "the platform device is present with xen_platform_pci=0:\n" + vendors);
        return null;
    }

    /** sda (ext4) written, sr0 (ISO9660) read, 64 MiB through sdb with direct I/O (the MB/s printed). */
    Object ideDisksAndCdrom() throws Exception {
        String devices = pc.run("cat /proc/partitions; ls /sys/block; for d in /sys/bus/pci/devices/*; do "
                + "echo \"pcidev $d $(cat $d/vendor):$(cat $d/device) class $(cat $d/class)\"; done; "
                + "dmesg | grep -i -E 'ata[0-9]|scsi|sd |sr |piix'", 300);
        System.out.println("[guest-devices] pc devices:\n" + devices);
        assertTrue(devices.contains("0x8086:0x7010 class 0x010180"), "no PIIX3 IDE function on pc's PCI bus:\n" + devices);
        for (String disk : new String[] { "sda", "sdb", "sr0" }) {
            assertTrue(devices.matches("(?s).*\\b" + disk + "\\b.*"), "no " + disk + ":\n" + devices + "\nhost log:\n" + t.hostLog());
        }
        String fs = pc.run("mkdir -p /mnt /cd && mount -t ext4 /dev/sda /mnt && echo '" + IDE_TEXT + "' > /mnt/f && "
                + "dd if=/dev/urandom of=/mnt/rand bs=1024 count=1024 2>/dev/null && md5sum /mnt/rand && "
                + "sync && umount /mnt && echo umounted-$((6*7))", 600);
        System.out.println("[guest-devices] pc ext4 on sda:\n" + fs);
        assertTrue(fs.contains("umounted-42"), "mount/write/umount of sda failed:\n" + fs + "\nhost log:\n" + t.hostLog());
        t.pcRandMd5 = HostTools.md5In(fs, "/mnt/rand");
        cdrom(t, pc, "pc, before any hand-over");

        // busybox dd prints no rate: timed on the host from the typed line to the shell's end marker
        long t1 = System.nanoTime();
        String w = pc.run("dd if=/dev/zero of=/dev/sdb bs=1M count=64 oflag=direct 2>&1", 900);
        double ws = (System.nanoTime() - t1) / 1e9;
        pc.run("echo 3 > /proc/sys/vm/drop_caches", 60);
        long t2 = System.nanoTime();
        String r = pc.run("dd if=/dev/sdb of=/dev/null bs=1M count=64 iflag=direct 2>&1", 900);
        double rs = (System.nanoTime() - t2) / 1e9;
        assertTrue(w.contains("64+0 records out"), "the 64 MiB write did not complete:\n" + w);
        assertTrue(r.contains("64+0 records out"), "the 64 MiB read did not complete:\n" + r);
        System.out.printf("[guest-devices] pc: dd 64 MiB O_DIRECT through ata_piix: write %.1f s = %.2f MB/s, read %.1f s = %.2f MB/s%n",
                ws, 67.108864 / ws, rs, 67.108864 / rs);
        return null;
    }

    /** The ISO on the guest's IDE CD-ROM: mounted, a text file and 3 MiB read with the host's md5. */
    static Object cdrom(GuestDevicesBootTest t, GuestShell g, String when) throws Exception {
        String cd = g.run("for i in $(seq 100); do [ -b /dev/sr0 ] && break; sleep 0.1; done; mkdir -p /cd && echo 3 > /proc/sys/vm/drop_caches; "
                + "mount -t iso9660 /dev/sr0 /cd && cat /cd/hello.txt && md5sum /cd/payload.bin && umount /cd && echo cd-umounted-$((6*7))", 600);
        System.out.println("[guest-devices] iso9660 on sr0 (" + when + "):\n" + cd);
        assertTrue(cd.contains("hello from the host's ISO"), when + ": hello.txt not read from sr0:\n" + cd + "\nhost log:\n" + t.hostLog());
        assertEquals(t.img.cdPayloadMd5(), HostTools.md5In(cd, "/cd/payload.bin"), when + ": payload.bin read from sr0 differs");
        assertTrue(cd.contains("cd-umounted-42"), when + ": sr0 did not unmount:\n" + cd);
        return null;
    }

    /**
     * 8139too and ne2k-pci bind the two functions with the MACs from the EEPROM and the PROM. Each NIC
     * gets its own subnet and answers ARP only for its own address (arp_ignore=1), so every frame of
     * a ping to an address crosses the NIC that owns it.
     */
    Object emulatedNicsUp() throws Exception {
        String rtl = Net.nicWithMac(pc, GuestDevicesBootTest.RTL_MAC, "8139too");
        String ne = Net.nicWithMac(pc, GuestDevicesBootTest.NE_MAC, "ne2k-pci");
        t.pcRtl = rtl;
        t.pcNe = ne;
        String up = pc.run("echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore; "
                + "ip addr add " + GuestDevicesBootTest.RTL_IP + "/24 dev " + rtl + "; ip link set " + rtl + " up; "
                + "ip addr add " + GuestDevicesBootTest.NE_IP + "/24 dev " + ne + "; ip link set " + ne + " up; sleep 2; ip -o addr", 120);
        System.out.println("[guest-devices] pc: " + rtl + " (rtl8139), " + ne + " (ne2k_pci):\n" + up);
        assertTrue(up.contains(GuestDevicesBootTest.RTL_IP + "/24") && up.contains(GuestDevicesBootTest.NE_IP + "/24"),
                "pc: addresses not set:\n" + up);
        return null;
    }

    /** Each emulated NIC received and sent at least {@code pings} frames of each direction's pings. */
    void eachNicCarriedItsPings(int pings) throws Exception {
        String out = pc.run("for n in " + t.pcRtl + " " + t.pcNe + "; do echo stat $n $(cat /sys/class/net/$n/statistics/rx_packets) "
                + "$(cat /sys/class/net/$n/statistics/tx_packets) $(cat /sys/class/net/$n/statistics/rx_errors) "
                + "$(cat /sys/class/net/$n/statistics/tx_errors); done", 60);
        System.out.println("[guest-devices] pc NIC counters (rx tx rx_errors tx_errors):\n" + out.trim());
        Matcher m = COUNTERS.matcher(out);
        int nics = 0;
        while (m.find()) {
            nics++;
            // two pings of `pings` each way: both ends' echoes and replies cross this NIC
            assertTrue(Long.parseLong(m.group(2)) >= 2L * pings && Long.parseLong(m.group(3)) >= 2L * pings,
                    m.group(1) + " did not carry its pings: " + m.group(0));
            assertEquals("0", m.group(4), m.group(1) + " rx errors");
            assertEquals("0", m.group(5), m.group(1) + " tx errors");
        }
        assertEquals(2, nics, "no counters for both NICs:\n" + out);
    }

    /**
     * Both NICs interrupt at the same instant, as when a migration's self-announce sends each one's
     * RARP to the other: the RTL8139 (00:04.0, PIRQA) and the NE2000 (00:05.0, PIRQB) share IRQ 10,
     * and a host port on xenbr0 sends broadcast frames that both receive at once. The line is the
     * two pins' wired-OR: with each link driving IRQ 10 alone, ne2k's handler lowering its pin
     * dropped a request the RTL8139 raised meanwhile, the RTL8139 waited for an EOI that never came
     * and 8139too's transmit watchdog fired (CI, after a live migration). After the frames every
     * echo through each NIC must come back and no watchdog fire.
     */
    void broadcastsReachBothNicsAtOnce(org.xenj.dom0.vswitch.api.Bridge bridge, String viaRtl, String viaNe, int frames) throws Exception {
        pc.run("dmesg -c >/dev/null; echo cleared", 60);
        String before = pc.run("grep -E ' 10:' /proc/interrupts", 60);
        org.xenj.dom0.vswitch.api.Port port = bridge.attach("irq-share-test", Runnable::run, (f, l) -> {
        });
        long t0 = System.nanoTime();
        try {
            for (int i = 0; i < frames; i++) {
                byte[] f = new byte[60];
                java.util.Arrays.fill(f, 0, 6, (byte) 0xff);
                f[6] = 0x02; // a locally administered source MAC
                f[11] = 0x42;
                f[12] = (byte) 0x88;
                f[13] = (byte) 0xb5; // IEEE 802 local experimental EtherType: the guest drops it after the interrupt
                f[14] = (byte) (i >> 8);
                f[15] = (byte) i;
                port.send(f, f.length);
                if (i % 4 == 3) {
                    Thread.sleep(2);
                }
            }
        } finally {
            port.close();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        String out = pc.run("ping -c 5 -s 1000 " + viaRtl + " | grep received; ping -c 5 -s 1000 " + viaNe + " | grep received;"
                + " echo watchdog $(dmesg | grep -c 'timed out'); grep -E ' 10:' /proc/interrupts", 120);
        System.out.printf("[guest-devices] pc: %d broadcasts to both NICs at once in %.1f s; IRQ 10 before: %s; then:%n%s%n", frames, secs,
                before.trim(), out.trim());
        boolean answered = out.lines().filter(l -> l.contains("5 packets transmitted, 5 packets received")).count() == 2;
        if (!answered || !out.contains("watchdog 0")) {
            // which side stopped: pc's NICs (registers in qemu-dm, driver messages), pv's counters, the switch's ports
            out += "\n" + t.nicReport() + "\npv /proc/net/dev:\n" + t.pv.run("cat /proc/net/dev", 120);
            for (org.xenj.dom0.vswitch.api.Port p : bridge.ports()) {
                out += "\nport " + p.name() + " " + p.counters();
            }
        }
        assertTrue(out.contains("watchdog 0"), "a NIC's transmit watchdog fired after the broadcasts:\n" + out);
        assertTrue(answered, "every echo through each NIC answered after the broadcasts:\n" + out);
    }

    /** e2fsck clean on hda and debugfs gives back what ata_piix wrote. */
    void hostReadsIdeImage() throws Exception {
        assertNotNull(t.pcRandMd5, "the IDE write check did not run");
        System.out.println("[guest-devices] e2fsck -fn hda.img: " + HostTools.fsck(t.img.hda()));
        assertTrue(HostTools.debugfsCat(t.img.hda(), "/f").contains(IDE_TEXT), "debugfs does not show /f");
        assertEquals(t.pcRandMd5, HostTools.debugfsMd5(t.img.hda(), "/rand", t.tmp), "the 1 MiB pc wrote differs on the host");
        System.out.println("[guest-devices] host: hda clean, /f and /rand (md5 " + t.pcRandMd5 + ") read back by debugfs");
    }
}
