package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.dom0.netback.api.VifInfo;

/**
 * What the PVHVM guest (pv) must show: Xen found through our ABI, the emulated disks unplugged and
 * their images handed to blkback, Linux's own xen-blkfront and xen-netfront at work, hot-plug.
 */
final class PvhvmChecks {

    static final String TEXT_A = "written by xen-blkfront on xvda";
    static final String TEXT_B = "written by xen-blkfront on xvdb (qcow2)";
    static final String TEXT_C = "hot-plugged xvdc";
    private final GuestDevicesBootTest t;
    private final GuestShell pv;

    PvhvmChecks(GuestDevicesBootTest t) {
        this.t = t;
        this.pv = t.pv;
    }

    /** The kernel log, the callback vector, xenbus, the platform PCI device, the unplug, port 0xe9. */
    Object xenAbi() throws Exception {
        String boot = pv.text();
        for (String line : boot.split("\r?\n")) {
            if (line.matches("(?i).*\\b(xen|hypervisor)\\b.*")) {
                System.out.println("[guest-devices] pv: " + line.trim());
            }
        }
        for (String want : List.of("Hypervisor detected: Xen HVM", "Xen version 4.17.", "Booting paravirtualized kernel on Xen HVM",
                // CPUID offers NX and EFER.NXE sticks: the PAE kernel turns no-execute protection on
                "NX (Execute Disable) protection: active")) {
            assertTrue(boot.contains(want), "pv: no '" + want + "' in its log:\n" + GuestShell.tail(boot));
        }
        String interrupts = pv.run("grep -E 'HYP|xen' /proc/interrupts", 300);
        System.out.println("[guest-devices] pv /proc/interrupts: " + interrupts.replaceAll("\\s+", " "));
        // XENFEAT_hvm_callback_vector: Linux set HVM_PARAM_CALLBACK_IRQ to its vector, and
        // register_vcpu_info marked everything pending, so at least one upcall was delivered.
        Matcher hyp = Pattern.compile("HYP:\\s+(\\d+)").matcher(interrupts);
        assertTrue(hyp.find() && Long.parseLong(hyp.group(1)) >= 1, "no Xen callback interrupt delivered:\n" + interrupts);
        Matcher xenbus = Pattern.compile("(\\d+)\\s+xen-dyn\\s+-event\\s+xenbus").matcher(interrupts);
        assertTrue(xenbus.find() && Long.parseLong(xenbus.group(1)) >= 1, "xenbus got no event:\n" + interrupts);

        String pci = pv.run("for d in /sys/bus/pci/devices/*; do echo \"pcidev $d $(cat $d/vendor):$(cat $d/device) class $(cat $d/class)\"; "
                + "done; ls /sys/bus/pci/drivers/xen-platform-pci/; dmesg | grep -i -E 'xen.platform|unplug|grant table'", 300);
        System.out.println("[guest-devices] pv PCI and platform device:\n" + pci);
        assertTrue(pci.matches("(?s).*pcidev \\S+ 0x5853:0x0001 class 0xff8000.*"), "no 5853:0001 in /sys/bus/pci/devices:\n" + pci);
        assertTrue(pci.matches("(?s).*0000:00:03\\.0.*"), "xen-platform-pci did not bind 00:03.0:\n" + pci);
        assertTrue(pci.contains("Grant table initialized"), "xen-platform-pci did not set up grant tables:\n" + pci);
        // Linux prints these only after port 0x10 gave the magic and port 0x12 protocol version 1
        assertTrue(pci.matches("(?s).*unplug emulated (NICs|disks).*"), "no unplug handshake in the guest's dmesg:\n" + pci);
        assertTrue(pci.contains("0x8086:0x7010"), "the PIIX3 IDE function left pv's bus with its CD-ROM:\n" + pci);
        String host = t.hostLog();
        assertTrue(host.contains("xen-platform: guest PV driver product 3 (Linux)"), "no product number written:\n" + host);
        assertTrue(host.contains("xen-platform: guest unplugs emulated devices"), "no unplug mask written:\n" + host);
        // qemu-dm opened xvda and xvdb as IDE disks (they are hda/hdb positions); the unplug closed them
        // before blkback opened them for xen-blkfront (one writer per image)
        for (String vdev : List.of("xvda", "xvdb")) {
            assertTrue(host.contains("ide: " + vdev + " unplugged by the guest; image closed"), vdev + "'s IDE image not closed:\n" + host);
        }
        assertTrue(host.contains("xen-platform: 00:01.1 stays on the bus"), "the IDE controller did not stay for the CD-ROM:\n" + host);

        // Port 0xe9 (233) through /dev/port: one dd per byte, as /dev/port advances the port with the offset
        pv.run("for b in p v h v m '\\n'; do printf \"$b\" | dd of=/dev/port bs=1 seek=233 conv=notrunc 2>/dev/null; done", 300);
        long end = System.currentTimeMillis() + 10_000;
        while (!t.hostLog().contains("debug port: pvhvm") && System.currentTimeMillis() < end) {
            Thread.sleep(50);
        }
        assertTrue(t.hostLog().contains("debug port: pvhvm"), "port 0xe9 output is not in the domain's log:\n" + t.hostLog());
        return null;
    }

    /** xvda (raw ext4) and xvdb (qcow2 over a raw ext4 backing file): mount, write, sync, unmount. */
    Object blkfrontDisks() throws Exception {
        String disks = pv.run("for i in $(seq 100); do [ -e /sys/block/xvdb ] && break; sleep 0.1; done; "
                + "cat /proc/partitions; dmesg | grep -i -E 'blkfront|xvd|vbd'", 120);
        System.out.println("[guest-devices] pv disks:\n" + disks);
        assertTrue(disks.contains("xvda") && disks.contains("xvdb"), "xen-blkfront did not bring up xvda and xvdb:\n" + disks
                + "\nhost log:\n" + t.hostLog());
        String write = pv.run("mkdir -p /mnt/a /mnt/b && mount -t ext4 /dev/xvda /mnt/a && mount -t ext4 /dev/xvdb /mnt/b && "
                + "echo '" + TEXT_A + "' > /mnt/a/file && echo '" + TEXT_B + "' > /mnt/b/file && "
                + "dd if=/dev/urandom of=/mnt/a/big bs=64k count=16 2>/dev/null && cp /mnt/a/big /mnt/b/big && "
                + "md5sum /mnt/a/big /mnt/b/big && sync && umount /mnt/a && umount /mnt/b && echo wrote-$((6*7))", 300);
        System.out.println("[guest-devices] pv mount/write/umount:\n" + write);
        assertTrue(write.contains("wrote-42"), "mount/write/umount failed:\n" + write + "\nhost log:\n" + t.hostLog());
        t.pvBigMd5 = HostTools.md5In(write, "/mnt/a/big");
        assertEquals(t.pvBigMd5, HostTools.md5In(write, "/mnt/b/big"), "cp changed the bytes?");
        // the CD-ROM stayed on the IDE controller through the disk unplug: Linux's ata_piix reads it
        return BarePcChecks.cdrom(t, pv, "pv, next to blkfront");
    }

    /** As xl block-attach / block-detach: xvdc appears in the running guest, is written, and goes. */
    void blockHotPlug() throws Exception {
        int domid = t.pvDom.id();
        VirtualDisk vd = t.blkback.attach(domid, "format=raw, vdev=xvdc, access=rw, target=" + t.img.c());
        System.out.println("[guest-devices] attached " + vd);
        String hp = pv.run("for i in $(seq 200); do [ -e /sys/block/xvdc ] && break; sleep 0.1; done; ls /sys/block; ls -l /dev/xvdc; "
                + "mkdir -p /mnt/c && mount -t ext4 /dev/xvdc /mnt/c && echo '" + TEXT_C + "' > /mnt/c/file && sync && umount /mnt/c "
                + "&& echo xvdc-written-$((6*7))", 120);
        System.out.println("[guest-devices] pv after block-attach:\n" + hp);
        assertTrue(hp.contains("xvdc-written-42") && hp.contains("/dev/xvdc"), "xvdc did not appear or could not be used:\n" + hp
                + "\nhost log:\n" + t.hostLog());
        List<VirtualDisk> listed = t.blkback.list(domid);
        listed.forEach(v -> System.out.println("[guest-devices] block-list: " + v));
        // blkback publishes the CD-ROM (hdc) too, as Xen does; Linux's blkfront leaves it to ata_piix
        List<VirtualDisk> pvDisks = listed.stream().filter(v -> v.vdev().startsWith("xvd")).toList();
        assertEquals(3, pvDisks.size(), "block-list: " + listed);
        assertTrue(pvDisks.stream().allMatch(v -> v.backendState() == 4 && v.frontendState() == 4), "not all connected: " + listed);
        t.blkback.detach(domid, "xvdc", false);
        String gone = pv.run("for i in $(seq 100); do [ -e /sys/block/xvdc ] || break; sleep 0.1; done; ls /sys/block; "
                + "[ -e /sys/block/xvdc ] || echo xvdc-absent-$((6*7))", 60);
        System.out.println("[guest-devices] pv after block-detach: " + gone.replaceAll("\\s+", " "));
        assertTrue(gone.contains("xvdc-absent-42"), "xvdc still there after block-detach:\n" + gone);
        assertEquals(2, t.blkback.list(domid).stream().filter(v -> v.vdev().startsWith("xvd")).count());
    }

    /** xen-netfront binds the vif (driver "vif") and takes both of pv's addresses. */
    Object netfrontUp() throws Exception {
        String nic = Net.nicWithMac(pv, GuestDevicesBootTest.PV_MAC, "vif");
        String up = pv.run("ip addr add " + GuestDevicesBootTest.PV_IP + "/24 dev " + nic + " && ip addr add " + GuestDevicesBootTest.PV_IP2
                + "/24 dev " + nic + " && ip link set " + nic + " up && ip -o addr show dev " + nic, 60);
        assertTrue(up.contains(GuestDevicesBootTest.PV_IP2 + "/24"), "pv: addresses not set:\n" + up);
        String emu = "vif" + t.pvDom.id() + ".0-emu";
        assertTrue(t.sw.bridge("xenbr0").ports().stream().noneMatch(p -> p.name().equals(emu)),
                "the unplugged emulated twin of the vif still has a switch port: " + t.sw.bridge("xenbr0").ports());
        List<VifInfo> vifs = t.netback.list(t.pvDom.id());
        System.out.println("[guest-devices] pv: " + nic + " up; backend " + vifs);
        assertEquals(4, vifs.get(0).backendState(), "backend Connected");
        assertEquals(4, vifs.get(0).frontendState(), "frontend Connected");
        return null;
    }

    /** As xl network-attach / network-detach on the running guest. */
    void vifHotPlug() throws Exception {
        int domid = t.pvDom.id();
        String mac = "00:16:3e:00:01:01";
        VifInfo added = t.netback.attach(domid, "mac=" + mac + ",bridge=xenbr0");
        assertEquals(1, added.devid());
        String nic = null;
        long end = System.currentTimeMillis() + 120_000;
        while (nic == null && System.currentTimeMillis() < end) {
            Matcher m = Pattern.compile("nic (\\S+) " + mac).matcher(pv.run(Net.LIST_NICS, 60));
            nic = m.find() ? m.group(1) : null;
            if (nic == null) {
                Thread.sleep(1000);
            }
        }
        System.out.println("[guest-devices] hot-plugged vif1 of pv: " + nic + "; " + t.netback.list(domid));
        assertNotNull(nic, "netfront found no hot-plugged NIC " + mac + ": " + t.netback.list(domid) + "\n" + pv.tail());
        assertEquals(4, t.netback.list(domid).get(1).backendState());
        t.netback.detach(domid, mac);
        end = System.currentTimeMillis() + 60_000;
        boolean gone = false;
        while (!gone && System.currentTimeMillis() < end) {
            String left = pv.run("ls -1 /sys/class/net", 60);
            gone = !Pattern.compile("(?m)^" + Pattern.quote(nic) + "\\s*$").matcher(left).find() && t.netback.list(domid).size() == 1;
            if (!gone) {
                Thread.sleep(1000);
            }
        }
        assertTrue(gone, "the NIC or its vif is still there: " + t.netback.list(domid));
    }

    /**
     * Linux's blkfront used the paths blkback advertises: ext4's journal commits are flushes
     * (feature-flush-cache), 1 MiB of sequential writeback goes out as indirect requests, 4-page ring.
     */
    void blkbackServedFlushesAndIndirectRequests() {
        List<String> log = t.xen.dmesg();
        log.stream().filter(l -> l.contains("vbd")).forEach(l -> System.out.println("[guest-devices] " + l.trim()));
        String xvda = log.stream().filter(l -> l.contains("vbd xvda: disconnected")).findFirst().orElse("");
        assertTrue(xvda.contains("flush-diskcache") && xvda.contains("indirect") && xvda.contains("0 refused or failed"),
                "xvda was not served flushes and indirect requests without errors: " + xvda);
        String connected = log.stream().filter(l -> l.contains("vbd xvda: connected")).findFirst().orElse("");
        assertTrue(connected.contains("x86_32-abi, ring of 128 on 4 page(s)"), "blkfront did not use a 4-page ring: " + connected);
    }

    /** e2fsck clean, debugfs reads back the guest's files, qemu-img check clean, backing file untouched. */
    void hostReadsBlkfrontImages() throws Exception {
        GuestDevicesBootTest.Images img = t.img;
        assertNotNull(t.pvBigMd5, "the blkfront write check did not run");
        System.out.println("[guest-devices] e2fsck -fn a.raw: " + HostTools.fsck(img.a()));
        assertEquals(TEXT_A + "\n", HostTools.debugfsCat(img.a(), "/file"));
        assertEquals(t.pvBigMd5, HostTools.debugfsMd5(img.a(), "/big", t.tmp));
        String check = HostTools.run("qemu-img", "check", img.b().toString());
        System.out.println("[guest-devices] qemu-img check b.qcow2: " + check.replaceAll("\\s+", " "));
        assertTrue(check.contains("No errors were found"), check);
        java.nio.file.Path bRaw = t.tmp.resolve("b-out.raw");
        HostTools.run("qemu-img", "convert", "-O", "raw", img.b().toString(), bRaw.toString());
        System.out.println("[guest-devices] e2fsck -fn b.qcow2 (converted): " + HostTools.fsck(bRaw));
        assertEquals(TEXT_B + "\n", HostTools.debugfsCat(bRaw, "/file"));
        assertEquals(t.pvBigMd5, HostTools.debugfsMd5(bRaw, "/big", t.tmp));
        assertEquals(img.baseSha(), HostTools.sha256(img.base()), "the qcow2 overlay's backing file changed");
        System.out.println("[guest-devices] e2fsck -fn c.raw: " + HostTools.fsck(img.c()));
        assertEquals(TEXT_C + "\n", HostTools.debugfsCat(img.c(), "/file"));
        System.out.println("[guest-devices] host: xvda, xvdb (qcow2) and xvdc clean, the guest's files read back (md5 " + t.pvBigMd5
                + "), backing file unchanged");
    }
}
