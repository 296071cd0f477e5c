package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertTrue;

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

    private final GuestDevicesBootTest t;

    MigrationChecks(GuestDevicesBootTest t) {
        this.t = t;
    }

    void barePcMigratedToLocalhostMidWorkload() throws Exception {
        ReadLoopAcross loop = new ReadLoopAcross(t, "migration", "LM");
        loop.start();
        GuestShell pc = t.pc;
        MigrationInfo info = migrateToLocalhost();
        String before = loop.before(pc);
        pc.close();
        printMigration(info);
        loop.finish(before, t.pc, "after-migrate");
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
