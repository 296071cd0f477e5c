package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.SaveInfo;

/**
 * xl save / xl restore of the bare PC in the middle of a disk workload: the save closes its IDE
 * images (one image, one writer), the restore opens them again, and ata_piix, 8139too and
 * ne2k-pci go on as if nothing happened: every md5 of the direct reads from sdb is right, a file
 * written to sda's ext4 after the restore reads back, and pings through both NICs are answered.
 */
final class SaveRestoreChecks {

    static final int ROUNDS = 30;

    private final GuestDevicesBootTest t;

    SaveRestoreChecks(GuestDevicesBootTest t) {
        this.t = t;
    }

    void barePcSavedMidWorkload() throws Exception {
        String zeroMd5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(new byte[1 << 20]));
        GuestShell pc = t.pc;
        int from = pc.text().length();
        pc.type("i=0; while [ $i -lt " + ROUNDS + " ]; do dd if=/dev/sdb bs=64k count=16 iflag=direct 2>/dev/null | md5sum;"
                + " i=$((i+1)); done; echo SR-$((6*7))-DONE\n");
        assertTrue(pc.waitFor(zeroMd5 + "  -", from, 300_000) >= 0, "pc: the read loop gave no md5:\n" + pc.tail());
        Path file = t.tmp.resolve("pc.save");
        long freeBefore = t.xen.info().freeMemoryKiB();
        SaveInfo info = t.xen.save(t.pcDom.id(), file, false);
        String before = pc.text().substring(from);
        pc.close();
        System.out.printf("[guest-devices] pc saved mid-workload: %d bytes, %d pages + %d zero pages, paused %.1f ms%n", info.bytes(),
                info.pages(), info.zeroPages(), info.pausedNanos() / 1e6);
        long end = System.currentTimeMillis() + 30_000;
        while (t.xen.lookup(t.pcDom.id()).isPresent() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        assertTrue(t.xen.lookup(t.pcDom.id()).isEmpty(), "xl save destroys pc");
        assertTrue(t.xen.info().freeMemoryKiB() >= freeBefore + 200 * 1024, "pc's memory is free again");
        assertEquals(info.bytes(), Files.size(file));
        long t0 = System.nanoTime();
        Domain r;
        try {
            r = t.xen.restore(file, Map.of(), true); // opens hda, hdb and the CD again: the save released them
        } catch (RuntimeException e) { // seen once under load 30 (hdb still claimed): the host log says by whom
            throw new AssertionError("restore failed: " + e.getMessage() + "\nhost log:\n" + t.hostLog(), e);
        }
        System.out.printf("[guest-devices] pc restored as d%d in %.1f ms%n", r.id(), (System.nanoTime() - t0) / 1e6);
        t.xen.dmesg().stream().filter(l -> l.contains("(pc) saved to") || l.contains("(pc) restored from"))
                .forEach(l -> System.out.println("[guest-devices] " + l.trim()));
        assertEquals(DomainState.PAUSED, r.state());
        t.pcDom = r;
        t.pc = new GuestShell("pc", t.xen.console(r.id()));
        t.xen.unpause(r.id());
        GuestShell after = t.pc;
        assertTrue(after.waitFor("SR-42-DONE", 0, 600_000) >= 0, "pc: the read loop did not finish after the restore:\n" + after.tail()
                + "\nbefore the save:\n" + GuestShell.tail(before) + "\nhost log:\n" + t.hostLog());
        String all = before + after.text();
        long answers = all.lines().filter(l -> l.strip().matches("[0-9a-f]{32}  -")).count();
        long right = all.lines().filter(l -> l.strip().equals(zeroMd5 + "  -")).count();
        long beforeSave = before.lines().filter(l -> l.strip().equals(zeroMd5 + "  -")).count();
        System.out.printf("[guest-devices] pc read loop: %d md5s before the save, %d in all, %d right%n", beforeSave, answers, right);
        assertEquals(ROUNDS, answers, "every read answered once:\n" + GuestShell.tail(all));
        assertEquals(ROUNDS, right, "every read right");
        assertTrue(beforeSave < ROUNDS, "the save came mid-workload");
        String fs = after.run("mkdir -p /mnt && mount -t ext4 /dev/sda /mnt && dd if=/dev/urandom of=/mnt/after-restore bs=64k count=8 2>/dev/null && "
                + "md5sum /mnt/after-restore && umount /mnt && mount -t ext4 /dev/sda /mnt && md5sum /mnt/after-restore && umount /mnt"
                + " && echo fs-ok-$((6*7))", 600);
        java.util.List<String> md5s = fs.lines().filter(l -> l.matches("[0-9a-f]{32}  /mnt/after-restore")).toList();
        assertTrue(fs.contains("fs-ok-42") && md5s.size() == 2 && md5s.get(0).equals(md5s.get(1)),
                "pc: ext4 on sda after the restore:\n" + fs);
        System.out.println("[guest-devices] pc after the restore: sda ext4 written, remounted, read back: " + md5s.get(0));
        Net.ping(after, GuestDevicesBootTest.PV_IP, 5, 1400); // through the RTL8139
        Net.ping(after, GuestDevicesBootTest.PV_IP2, 5, 1400); // through the NE2000
    }
}
