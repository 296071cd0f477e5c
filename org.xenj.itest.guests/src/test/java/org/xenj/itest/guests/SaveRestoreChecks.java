package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
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

    private final GuestDevicesBootTest t;

    SaveRestoreChecks(GuestDevicesBootTest t) {
        this.t = t;
    }

    void barePcSavedMidWorkload() throws Exception {
        ReadLoopAcross loop = new ReadLoopAcross(t, "save and restore", "SR");
        loop.start();
        GuestShell pc = t.pc;
        Path file = t.tmp.resolve("pc.save");
        long freeBefore = t.xen.info().freeMemoryKiB();
        SaveInfo info = t.xen.save(t.pcDom.id(), file, false);
        String before = loop.before(pc);
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
        loop.finish(before, t.pc, "after-restore");
    }
}
