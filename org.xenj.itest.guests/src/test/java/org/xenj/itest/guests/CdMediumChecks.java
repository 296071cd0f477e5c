package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.RemovableMedia;

/**
 * xl's cd-eject and cd-insert on the bare PC's IDE CD-ROM (hdc, Linux's sr0 through ata_piix):
 * after the eject, opening sr0 fails with "No medium found" (TEST UNIT READY: 02/3A); after the
 * insert of a second ISO made on the host, mount reads the new disc (its capacity re-read after
 * the unit attention 06/28 and the media event). The change goes where {@code xen:cd-insert}
 * sends it: qemu-dm's drive first, then blkback's vbd {@code params} if it lists the drive.
 */
final class CdMediumChecks {

    static final String SECOND_HELLO = "hello from the second ISO, inserted by xen:cd-insert";

    private final GuestDevicesBootTest t;
    private final GuestShell pc;

    CdMediumChecks(GuestDevicesBootTest t) {
        this.t = t;
        this.pc = t.pc;
    }

    /** As xen:cd-insert / xen:cd-eject do it (CdMedia in the toolstack): every service with the drive, qemu-dm first. */
    private String change(String target) {
        DiskSpec medium = DiskSpec.parse("vdev=hdc, access=ro, devtype=cdrom, target=" + target);
        StringBuilder by = new StringBuilder();
        for (RemovableMedia m : new RemovableMedia[] {t.qemuDm, t.blkback}) {
            if (m.hasDrive(t.pcDom.id(), "hdc")) {
                m.changeMedium(t.pcDom.id(), medium);
                by.append(by.length() == 0 ? "" : ", ").append(m.name());
            }
        }
        return by.toString();
    }

    /** The second ISO: another size (5 MiB payload), another text; made with the same tool as the first. */
    private Path secondIso() throws Exception {
        Path dir = Files.createDirectories(t.tmp.resolve("iso2"));
        byte[] payload = new byte[5 << 20];
        new Random(43).nextBytes(payload);
        Files.write(dir.resolve("payload.bin"), payload);
        Files.writeString(dir.resolve("hello.txt"), SECOND_HELLO + "\n");
        Path iso = t.tmp.resolve("cd2.iso");
        if (HostTools.which("genisoimage") != null) {
            HostTools.run("genisoimage", "-quiet", "-r", "-J", "-V", "XENJCD2", "-o", iso.toString(), dir.toString());
        } else {
            HostTools.run("xorriso", "-as", "mkisofs", "-quiet", "-r", "-J", "-V", "XENJCD2", "-o", iso.toString(), dir.toString());
        }
        t.pcCdHello = SECOND_HELLO;
        t.pcCdMd5Pending = HostTools.md5(payload);
        return iso;
    }

    void ejectThenInsert() throws Exception {
        Path iso2 = secondIso();
        String by = change("");
        System.out.println("[guest-devices] xen:cd-eject pc hdc (" + by + ")");
        assertTrue(by.startsWith("qemu-dm"), "qemu-dm has pc's hdc: " + by);
        String empty = pc.run("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/sr0 of=/dev/null bs=2048 count=1 2>&1; "
                + "mount -t iso9660 /dev/sr0 /cd 2>&1; echo mount-rc=$?", 300);
        System.out.println("[guest-devices] pc, sr0 after the eject:\n" + empty);
        assertTrue(empty.toLowerCase(Locale.ROOT).contains("no medium"), "reading the empty sr0 did not fail with 'no medium':\n"
                + empty + "\nhost log:\n" + t.hostLog());
        assertFalse(empty.contains("mount-rc=0"), "pc mounted an empty drive:\n" + empty);

        by = change(iso2.toString());
        System.out.println("[guest-devices] xen:cd-insert pc hdc " + iso2 + " (" + by + ")");
        t.pcCdMd5 = t.pcCdMd5Pending;
        String cd = pc.run("echo 3 > /proc/sys/vm/drop_caches; mount -t iso9660 /dev/sr0 /cd && cat /cd/hello.txt && "
                + "md5sum /cd/payload.bin && umount /cd && echo cd-umounted-$((6*7)); cat /sys/block/sr0/size; "
                + "dmesg | grep -i -E 'sr0|sr 0|cdrom' | tail -5", 600);
        System.out.println("[guest-devices] pc, sr0 after the insert:\n" + cd);
        assertTrue(cd.contains(SECOND_HELLO), "the second ISO's hello.txt not read from sr0:\n" + cd + "\nhost log:\n" + t.hostLog());
        assertEquals(t.pcCdMd5, HostTools.md5In(cd, "/cd/payload.bin"), "payload.bin of the second ISO read from sr0 differs");
        assertTrue(cd.contains("cd-umounted-42"), "sr0 did not unmount:\n" + cd);
        long sectors = Files.size(iso2) / 512;
        assertTrue(java.util.regex.Pattern.compile("(?m)^\\s*" + sectors + "\\s*$").matcher(cd).find(),
                "sr0's size is not the second ISO's " + sectors + " sectors:\n" + cd);
    }

    /** After qemu-dm's hand-over pc's sr0 still holds the medium inserted before it (the state record carried it). */
    Object mediumSurvivesHandOver() throws Exception {
        String cd = pc.run("echo 3 > /proc/sys/vm/drop_caches; mount -t iso9660 /dev/sr0 /cd && cat /cd/hello.txt && "
                + "md5sum /cd/payload.bin && umount /cd && echo cd-umounted-$((6*7))", 600);
        System.out.println("[guest-devices] iso9660 on sr0 (pc, after the hand-over):\n" + cd);
        assertTrue(cd.contains(t.pcCdHello), "pc, after the hand-over: " + t.pcCdHello + " not read from sr0:\n" + cd
                + "\nhost log:\n" + t.hostLog());
        assertEquals(t.pcCdMd5, HostTools.md5In(cd, "/cd/payload.bin"), "pc, after the hand-over: payload.bin differs");
        assertTrue(cd.contains("cd-umounted-42"), "sr0 did not unmount:\n" + cd);
        return null;
    }
}
