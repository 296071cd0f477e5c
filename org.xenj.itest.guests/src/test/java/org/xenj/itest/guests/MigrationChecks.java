package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicReference;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainListener;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.MigrationInfo;

/**
 * xl migrate of the bare PC to localhost in the middle of a loop of direct reads from sdb: pre-copy
 * rounds while the loop runs, then the stop; the destination's qemu-dm opens hda, hdb and the CD
 * the source's let go of, and ata_piix, 8139too and ne2k-pci go on: every md5 right, sda's ext4
 * written and read back, pings through both NICs answered. The source is gone afterwards.
 */
final class MigrationChecks {

    static final int ROUNDS = 30;

    private final GuestDevicesBootTest t;

    MigrationChecks(GuestDevicesBootTest t) {
        this.t = t;
    }

    void barePcMigratedToLocalhostMidWorkload() throws Exception {
        String zeroMd5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(new byte[1 << 20]));
        GuestShell pc = t.pc;
        int from = pc.text().length();
        pc.type("i=0; while [ $i -lt " + ROUNDS + " ]; do dd if=/dev/sdb bs=64k count=16 iflag=direct 2>/dev/null | md5sum;"
                + " i=$((i+1)); done; echo LM-$((6*7))-DONE\n");
        assertTrue(pc.waitFor(zeroMd5 + "  -", from, 300_000) >= 0, "pc: the read loop gave no md5:\n" + pc.tail());
        MigrationInfo info = migrateToLocalhost();
        String before = pc.text().substring(from);
        pc.close();
        printMigration(info);
        GuestShell after = t.pc;
        assertTrue(after.waitFor("LM-42-DONE", 0, 600_000) >= 0, "pc: the read loop did not finish after the migration:\n" + after.tail()
                + "\nbefore:\n" + GuestShell.tail(before) + "\nhost log:\n" + t.hostLog());
        String all = before + after.text();
        long answers = all.lines().filter(l -> l.strip().matches("[0-9a-f]{32}  -")).count();
        long right = all.lines().filter(l -> l.strip().equals(zeroMd5 + "  -")).count();
        long beforeMigration = before.lines().filter(l -> l.strip().equals(zeroMd5 + "  -")).count();
        System.out.printf("[guest-devices] pc read loop: %d md5s before the switch, %d in all, %d right%n", beforeMigration, answers, right);
        assertEquals(ROUNDS, answers, "every read answered once:\n" + GuestShell.tail(all));
        assertEquals(ROUNDS, right, "every read right");
        assertTrue(beforeMigration < ROUNDS, "the migration came mid-workload");
        String fs = after.run("mkdir -p /mnt && mount -t ext4 /dev/sda /mnt && dd if=/dev/urandom of=/mnt/after-migrate bs=64k count=8 2>/dev/null && "
                + "md5sum /mnt/after-migrate && umount /mnt && mount -t ext4 /dev/sda /mnt && md5sum /mnt/after-migrate && umount /mnt"
                + " && echo fs-ok-$((6*7))", 600);
        java.util.List<String> md5s = fs.lines().filter(l -> l.matches("[0-9a-f]{32}  /mnt/after-migrate")).toList();
        assertTrue(fs.contains("fs-ok-42") && md5s.size() == 2 && md5s.get(0).equals(md5s.get(1)),
                "pc: ext4 on sda after the migration:\n" + fs);
        System.out.println("[guest-devices] pc after the migration: sda ext4 written, remounted, read back: " + md5s.get(0));
        try {
            Net.ping(after, GuestDevicesBootTest.PV_IP, 5, 1400); // through the RTL8139
            Net.ping(after, GuestDevicesBootTest.PV_IP2, 5, 1400); // through the NE2000
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + t.nicReport(), e);
        }
    }
    /**
     * xl migrate of pc to localhost: the destination's console is watched from its creation on
     * (paused), so that no output of the resumed guest is missed; {@code t.pcDom} and {@code t.pc}
     * are the arrived domain's afterwards (the old console is left open for the caller to read).
     */
    MigrationInfo migrateToLocalhost() throws Exception {
        AtomicReference<GuestShell> arriving = new AtomicReference<>();
        DomainListener watch = new DomainListener() {
            @Override
            public void created(Domain d) {
                if (d.name().startsWith("pc--incoming")) {
                    arriving.set(new GuestShell("pc", t.xen.console(d.id())));
                }
            }
        };
        t.xen.addListener(watch);
        int oldId = t.pcDom.id();
        MigrationInfo info;
        try {
            info = t.xen.migrate(oldId, "localhost", t.migrationPort, true, 100, 30);
        } finally {
            t.xen.removeListener(watch);
        }
        assertTrue(t.xen.lookup(oldId).isEmpty(), "the source pc is destroyed");
        Domain moved = t.xen.lookup("pc").orElseThrow(() -> new AssertionError("no domain pc after the migration"));
        assertTrue(moved.state() == DomainState.RUNNING || moved.state() == DomainState.BLOCKED, "pc runs: " + moved.state());
        GuestShell after = arriving.get();
        assertTrue(after != null, "the destination's console was watched");
        t.pcDom = moved;
        t.pc = after;
        return info;
    }

    private void printMigration(MigrationInfo info) {
        System.out.printf("[guest-devices] pc migrated to localhost mid-workload: %d rounds, last %d pages, %d pages in all, %d bytes,"
                + " downtime %.1f ms, total %.1f ms%n", info.rounds().size(), info.finalPages(), info.pagesSent(), info.bytes(),
                info.downtimeNanos() / 1e6, info.totalNanos() / 1e6);
        for (int i = 0; i < info.rounds().size(); i++) {
            MigrationInfo.Round r = info.rounds().get(i);
            System.out.printf("[guest-devices]   round %d: %d pages sent, %d dirtied, %.1f ms%n", i + 1, r.pagesSent(), r.dirtyPages(),
                    r.nanos() / 1e6);
        }
        t.xen.dmesg().stream().filter(l -> l.contains("migrated to") || l.contains("arrived by migration"))
                .forEach(l -> System.out.println("[guest-devices] " + l.trim()));
    }
}
