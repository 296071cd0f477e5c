package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.xenj.hypervisor.api.SnapshotInfo;

/**
 * The VM state tree on the bare PC's writable IDE disks (ext4 hda, blank hdb): a snapshot with
 * sda unmounted, then a file written to it by Debian's ext4 over ata_piix, then a revert — the
 * guest's kernel (memory reverted with the disk) finds sda as it was: the file from before is there,
 * the one from after is gone, and after poweroff e2fsck finds nothing to fix on the overlay chain,
 * qemu-img check none on the overlays, and debugfs reads the files as the guest left them.
 */
final class SnapshotChecks {

    private final GuestDevicesBootTest t;

    SnapshotChecks(GuestDevicesBootTest t) {
        this.t = t;
    }

    void barePcDisksBranchAndARevertDiscardsWhatCameAfter() throws Exception {
        GuestShell pc = t.pc;
        int id = t.pcDom.id();
        String pre = pc.run("mkdir -p /mnt && mount -t ext4 /dev/sda /mnt && echo before-snapshot > /mnt/snap-before && sync"
                + " && umount /mnt && echo pre-$((6*7))", 300);
        assertTrue(pre.contains("pre-42"), "pc: " + pre);
        Path hda = t.img.hda();
        long t0 = System.nanoTime();
        SnapshotInfo s = t.xen.snapshotCreate(id, "unmounted");
        long create = System.nanoTime() - t0;
        String hdaSpec = t.xen.lookup(id).orElseThrow().config().disks().get(0);
        assertTrue(hdaSpec.contains("format=qcow2") && !hdaSpec.contains(hda.toString()), "hda now names an overlay: " + hdaSpec);
        String post = pc.run("mount -t ext4 /dev/sda /mnt && echo after-snapshot > /mnt/snap-after && sync && ls /mnt && umount /mnt"
                + " && echo post-$((6*7))", 300);
        assertTrue(post.contains("post-42") && post.contains("snap-after"), "pc, after the snapshot: " + post);
        Path before = overlay(id);
        t0 = System.nanoTime();
        SnapshotInfo r = t.xen.snapshotRevert(id, "unmounted");
        long revert = System.nanoTime() - t0;
        assertNotEquals(before, overlay(id), "a new overlay after the revert");
        String back = pc.run("mount -t ext4 /dev/sda /mnt && ls /mnt && cat /mnt/snap-before && umount /mnt && echo back-$((6*7))", 300);
        assertTrue(back.contains("back-42") && back.contains("before-snapshot"), "pc, after the revert: " + back);
        assertFalse(back.contains("snap-after"), "the file written after the snapshot is gone: " + back);
        t.pcOverlay = overlay(id);
        System.out.printf("[guest-devices] pc snapshot-create with 2 IDE disks: %.1f ms (paused %.1f ms, %d bytes), revert %.1f ms"
                + " (paused %.1f ms); hda now %s%n", create / 1e6, s.pausedNanos() / 1e6, s.bytes(), revert / 1e6, r.pausedNanos() / 1e6,
                t.pcOverlay);
    }

    private Path overlay(int id) {
        String spec = t.xen.lookup(id).orElseThrow().config().disks().get(0);
        return Path.of(spec.substring(spec.indexOf("target=") + 7).trim());
    }

    /** After poweroff, every image closed: the overlay chain as the host's tools read it. */
    void hostReadsTheOverlayChain() throws Exception {
        if (t.pcOverlay == null) {
            return; // the snapshot step did not run
        }
        String check = HostTools.run("qemu-img", "check", t.pcOverlay.toString());
        assertTrue(check.contains("No errors were found"), check);
        String chain = HostTools.run("qemu-img", "info", "--backing-chain", t.pcOverlay.toString());
        assertTrue(chain.contains("backing file: " + t.img.hda()), chain);
        Path flat = t.tmp.resolve("hda-now.raw");
        HostTools.run("qemu-img", "convert", "-O", "raw", t.pcOverlay.toString(), flat.toString());
        System.out.println("[guest-devices] e2fsck -fn of hda's overlay chain: " + HostTools.fsck(flat));
        assertTrue(HostTools.debugfsCat(flat, "/snap-before").contains("before-snapshot"));
        assertFalse(HostTools.run("debugfs", "-R", "ls /", flat.toString()).contains("snap-after"), "reverted away");
        assertEquals(t.pcRandMd5, HostTools.debugfsMd5(flat, "/rand", t.tmp), "pc's /rand through the chain");
        System.out.println("[guest-devices] host: hda's overlay " + t.pcOverlay.getFileName() + " checked, /snap-before there,"
                + " /snap-after gone");
    }
}
