package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.xenj.dom0.blkback.internal.BlkbackService;
import org.xenj.dom0.netback.internal.Netback;
import org.xenj.dom0.vfb.internal.VfbBackend;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainListener;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.MigrationInfo;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * xl migrate of the PVHVM guest to a second xenj (another hypervisor core with its own qemu-dm,
 * blkback, netback and vfb, on the same block layer — shared storage, one writer per image — and the
 * same switch, the destination's bridge): pre-copy rounds while it runs, then Xen's suspend
 * protocol at the stop (control/shutdown = suspend, Linux freezes and suspends xen-blkfront and
 * xen-netfront, SCHEDOP_shutdown(SHUTDOWN_suspend)); the source's backends let go of a.raw and
 * b.qcow2 before the destination's open them; at the destination the hypercall returns 0 and the
 * frontends reconnect to its backends. Checked: the source copy is gone, a file written on xvda
 * before reads back with the same md5 after the page cache is dropped, and 5/5 pings through
 * netfront are answered. Prints downtime, rounds, MB and MB/s, and what the step cost.
 */
final class PvhvmMigrationChecks {

    private final GuestDevicesBootTest t;

    PvhvmMigrationChecks(GuestDevicesBootTest t) {
        this.t = t;
    }

    /** The second xenj: as the first is wired, sharing the block layer and the switch. Returns its receiver's port. */
    private int startSecondXenj() {
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel(t.sw, t.images));
        t.blkback2 = new BlkbackService(t.images);
        t.netback2 = new Netback(t.sw);
        plugins.addBackend(t.blkback2, BlkbackService.KIND);
        plugins.addBackend(t.netback2, Netback.KIND);
        plugins.addBackend(new VfbBackend(), VfbBackend.KIND);
        // room for pv (200 MiB) and Domain 0; one pCPU
        t.xen2 = new HypervisorCore(CoreConfig.parse("264M", 1, "32M", "credit"), plugins);
        t.blkback2.setBackendHotplug(t.xen2.backends());
        t.netback2.setBackendHotplug(t.xen2.backends());
        int port = t.xen2.configureMigration(GuestDevicesBootTest.MIGRATION_SECRET, true, "127.0.0.1", 0);
        assertTrue(port > 0, "the second xenj receives migrations");
        return port;
    }

    void pvhvmLiveMigratedToASecondXenj(String pingTarget) throws Exception {
        long s0 = System.nanoTime();
        GuestShell pv = t.pv;
        // the file step 12 wrote on xvda and left mounted (no guest work before the migration); else one written now
        String file = t.pvXvdaFile;
        String md5 = t.pvXvdaMd5;
        if (file == null || md5 == null) {
            file = "/mnt/a/migrate";
            String before = pv.run("mkdir -p /mnt/a && mount -t ext4 /dev/xvda /mnt/a && dd if=/dev/urandom of=" + file + " bs=64k count=8"
                    + " 2>/dev/null && sync && md5sum " + file, 120);
            md5 = HostTools.md5In(before, file);
            assertTrue(md5 != null, "pv: xvda written before the migration:\n" + before);
        }
        long tWritten = System.nanoTime();
        long tSetup = tWritten;
        int port = startSecondXenj();
        long setup = System.nanoTime() - tSetup;
        AtomicReference<GuestShell> arriving = new AtomicReference<>();
        DomainListener watch = new DomainListener() {
            @Override
            public void created(Domain d) {
                if (d.name().startsWith("pv--incoming")) {
                    arriving.set(new GuestShell("pv", t.xen2.console(d.id())));
                }
            }
        };
        t.xen2.addListener(watch);
        int oldId = t.pvDom.id();
        String load = Files.readString(Path.of("/proc/loadavg")).trim();
        MigrationInfo info;
        try {
            info = t.xen.migrate(oldId, "127.0.0.1", port, true, 100, 30,
                    p -> System.out.printf("[guest-devices] pv migrating: %s, round %d, %d pages sent, %d dirtied, %.1f MB/s, %s %.1f ms%n",
                            p.phase(), p.round(), p.pagesSent(), p.dirtyPages(), p.mbPerSecond(),
                            p.phase().equals("round") ? "expected downtime" : "so far", p.expectedDowntimeMillis()));
        } catch (RuntimeException e) {
            throw new AssertionError("live migration of the PVHVM guest failed: " + e.getMessage() + "\nconsole:\n" + pv.tail()
                    + "\nsource log:\n" + t.hostLog() + "\ndestination log:\n" + String.join("\n", t.xen2.dmesg()), e);
        } finally {
            t.xen2.removeListener(watch);
        }
        pv.close();
        double mb = info.bytes() / 1e6;
        System.out.printf("[guest-devices] pv (PVHVM) live-migrated to a second xenj (load %s): downtime %.1f ms (suspend request to"
                + " running there), %d rounds, %d pages (%d in the pause), %.1f MB in %.1f ms = %.1f MB/s%n", load,
                info.downtimeNanos() / 1e6, info.rounds().size(), info.pagesSent(), info.finalPages(), mb, info.totalNanos() / 1e6,
                mb / (info.totalNanos() / 1e9));
        for (int i = 0; i < info.rounds().size(); i++) {
            MigrationInfo.Round r = info.rounds().get(i);
            System.out.printf("[guest-devices]   round %d: %d pages sent, %d dirtied, %.1f ms%n", i + 1, r.pagesSent(), r.dirtyPages(),
                    r.nanos() / 1e6);
        }
        t.xen.dmesg().stream().filter(l -> l.contains("(pv") && (l.contains("migrated to") || l.contains("suspend"))
                || l.contains("released for a live migration"))
                .forEach(l -> System.out.println("[guest-devices] source: " + l.trim()));
        t.xen2.dmesg().stream().filter(l -> l.contains("arrived by migration") || l.contains(": connected"))
                .forEach(l -> System.out.println("[guest-devices] destination: " + l.trim()));
        long end = System.currentTimeMillis() + 30_000;
        while (t.xen.lookup(oldId).isPresent() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        assertTrue(t.xen.lookup(oldId).isEmpty(), "the source copy of pv is destroyed");
        assertTrue(t.xen.lookup("pv").isEmpty() && t.xen.lookup("pv--migratedaway").isEmpty(), "no pv left on the source");
        Domain moved = t.xen2.lookup("pv").orElseThrow(() -> new AssertionError("no pv on the second xenj:\n" + String.join("\n", t.xen2.dmesg())));
        assertTrue(moved.state() == DomainState.RUNNING || moved.state() == DomainState.BLOCKED, "pv runs there: " + moved.state());
        GuestShell after = arriving.get();
        assertTrue(after != null, "the destination's console was watched");
        t.pvDom = moved;
        t.pvHost = t.xen2;
        t.pv = after;
        long r0 = System.nanoTime();
        // the kernel thaws its tasks last: the shell is spoken to only after (see PvhvmSuspendChecks)
        int thawed = after.waitFor("Restarting tasks", 0, 120_000);
        assertTrue(thawed >= 0, "pv did not resume at the destination:\n" + after.tail() + "\ndestination log:\n"
                + String.join("\n", t.xen2.dmesg()));
        long thawNanos = System.nanoTime() - r0;
        // blkfront reconnected to the destination's blkback: the file read from the disk, page cache dropped
        String disk = after.run("for i in $(seq 100); do [ -e /sys/block/xvda ] && break; sleep 0.1; done; sync;"
                + " echo 3 > /proc/sys/vm/drop_caches; md5sum " + file + " && umount /mnt/a && echo disk-ok-$((6*7))", 300);
        assertTrue(disk.contains("disk-ok-42") && md5.equals(HostTools.md5In(disk, file)),
                "pv: xvda after the migration (md5 before " + md5 + "):\n" + disk + "\ndestination log:\n" + String.join("\n", t.xen2.dmesg()));
        System.out.printf("[guest-devices] pv at the destination: tasks restarted %.1f ms and %s read back (md5 %s) %.1f ms after"
                + " the migration returned%n", thawNanos / 1e6, file, md5, (System.nanoTime() - r0) / 1e6);
        // netfront reconnected to the destination's netback, whose vif is on the destination's bridge
        Net.ping(after, pingTarget, 5, 0, "-i 0.2");
        assertTrue(t.xen2.dmesg().stream().anyMatch(l -> l.contains("vbd xvda: connected")), "the destination's blkback serves xvda");
        List<String> refused = t.xen2.dmesg().stream().filter(l -> l.contains("cannot open")).toList();
        assertEquals(List.of(), refused, "no image refused at the destination (one writer per image)");
        System.out.printf("[guest-devices] PVHVM migration step: %.1f s in all (file written %.1f s, second xenj started in %.1f ms,"
                + " migration %.1f s, checks after %.1f s); load %s%n", (System.nanoTime() - s0) / 1e9, (tWritten - s0) / 1e9, setup / 1e6,
                info.totalNanos() / 1e9, (System.nanoTime() - r0) / 1e9, Files.readString(Path.of("/proc/loadavg")).trim());
    }
}
