package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.SaveInfo;

/**
 * xl save / xl restore of the PVHVM guest through Xen's suspend protocol: the toolstack writes
 * {@code control/shutdown = suspend}, Debian's kernel freezes, suspends xen-blkfront and
 * xen-netfront and calls SCHEDOP_shutdown(SHUTDOWN_suspend); the domain is saved and destroyed; the
 * restore creates a new domain (new id, new blkback/netback backends) whose suspend hypercall
 * returns 0, and the guest maps shared_info again, re-binds its event channels and reconnects its
 * frontends. Checked: xvda (ext4, mounted across the suspend) reads back a file written before
 * with the same md5 after dropping the page cache, takes a new file, and netfront pings the bare PC.
 */
final class PvhvmSuspendChecks {

    private final GuestDevicesBootTest t;

    PvhvmSuspendChecks(GuestDevicesBootTest t) {
        this.t = t;
    }

    void pvhvmSavedAndRestoredThroughTheSuspendProtocol(String pingTarget) throws Exception {
        GuestShell pv = t.pv;
        String before = pv.run("mkdir -p /mnt/a && mount -t ext4 /dev/xvda /mnt/a && dd if=/dev/urandom of=/mnt/a/suspend bs=64k count=8"
                + " 2>/dev/null && sync && md5sum /mnt/a/suspend && echo lines=$(dmesg | wc -l)", 120);
        String md5 = HostTools.md5In(before, "/mnt/a/suspend");
        java.util.regex.Matcher lines = java.util.regex.Pattern.compile("lines=(\\d+)").matcher(before);
        assertTrue(md5 != null && lines.find(), "pv: xvda written before the suspend:\n" + before);
        int dmesgLines = Integer.parseInt(lines.group(1));
        Path file = t.tmp.resolve("pv.save");
        int oldId = t.pvDom.id();
        long t0 = System.nanoTime();
        SaveInfo info;
        try {
            info = t.xen.save(oldId, file, false);
        } catch (RuntimeException e) {
            throw new AssertionError("save of the PVHVM guest failed: " + e.getMessage() + "\nconsole:\n" + pv.tail() + "\nhost log:\n"
                    + t.hostLog(), e);
        }
        long saved = System.nanoTime();
        pv.close();
        System.out.printf("[guest-devices] pv (PVHVM) suspended and saved in %.1f ms: %d bytes, %d pages + %d zero pages, paused %.1f ms%n",
                (saved - t0) / 1e6, info.bytes(), info.pages(), info.zeroPages(), info.pausedNanos() / 1e6);
        long end = System.currentTimeMillis() + 30_000;
        while (t.xen.lookup(oldId).isPresent() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        assertTrue(t.xen.lookup(oldId).isEmpty(), "xl save destroys pv");
        assertEquals(info.bytes(), Files.size(file));
        long r0 = System.nanoTime();
        Domain r;
        try {
            r = t.xen.restore(file, Map.of(), true);
        } catch (RuntimeException e) {
            throw new AssertionError("restore of the PVHVM guest failed: " + e.getMessage() + "\nhost log:\n" + t.hostLog(), e);
        }
        System.out.printf("[guest-devices] pv restored as d%d (was d%d) in %.1f ms%n", r.id(), oldId, (System.nanoTime() - r0) / 1e6);
        assertEquals(DomainState.PAUSED, r.state());
        t.pvDom = r;
        GuestShell after = new GuestShell("pv", t.xen.console(r.id()));
        t.pv = after;
        long u0 = System.nanoTime();
        t.xen.unpause(r.id());
        // the kernel thaws its tasks last ("Restarting tasks ... done."): keys typed before that
        // overflow the UART's FIFO while nothing reads it, so the shell is spoken to only after
        int thawed = after.waitFor("Restarting tasks", 0, 120_000);
        System.out.printf("[guest-devices] pv resumed (tasks restarted) %.1f ms after the unpause%s%n", (System.nanoTime() - u0) / 1e6,
                thawed >= 0 ? "" : " (no message seen)");
        Thread.sleep(500);
        String alive;
        try {
            alive = after.run("echo resumed-$((6*7))", 120);
        } catch (AssertionError e) {
            throw new AssertionError("pv does not answer after the restore:\n" + after.tail() + "\nhost log:\n" + t.hostLog(), e);
        }
        assertTrue(alive.contains("resumed-42"), "pv answers after the restore:\n" + alive + "\nhost log:\n" + t.hostLog());
        System.out.printf("[guest-devices] pv answers %.1f ms after the unpause%n", (System.nanoTime() - u0) / 1e6);
        // what the guest printed from the suspend request to now
        String printed = after.run("dmesg | tail -n +" + (dmesgLines + 1) + " | head -60", 60);
        System.out.println("[guest-devices] pv's kernel during suspend and resume:\n" + printed);
        t.xen.dmesg().stream().filter(l -> l.contains("(pv)") && (l.contains("suspend") || l.contains("saved to") || l.contains("restored from")
                || l.contains("vbd") || l.contains("vif"))).forEach(l -> System.out.println("[guest-devices] " + l.trim()));
        // blkfront reconnected: the file read from the disk (page cache dropped), a new one written and read back
        String disk = after.run("for i in $(seq 100); do [ -e /sys/block/xvda ] && break; sleep 0.1; done; sync; echo 3 > /proc/sys/vm/drop_caches;"
                + " md5sum /mnt/a/suspend && dd if=/dev/urandom of=/mnt/a/resumed bs=64k count=8 2>/dev/null && sync && md5sum /mnt/a/resumed"
                + " && umount /mnt/a && mount -t ext4 /dev/xvda /mnt/a && md5sum /mnt/a/resumed && echo disk-ok-$((6*7))", 300);
        List<String> resumed = disk.lines().filter(l -> l.matches("[0-9a-f]{32}  /mnt/a/resumed")).toList();
        assertTrue(disk.contains("disk-ok-42") && md5.equals(HostTools.md5In(disk, "/mnt/a/suspend")) && resumed.size() == 2
                && resumed.get(0).equals(resumed.get(1)), "pv: xvda after the restore (md5 before " + md5 + "):\n" + disk
                + "\nhost log:\n" + t.hostLog());
        System.out.println("[guest-devices] pv after the restore: xvda read back (md5 " + md5 + "), written, remounted, read back");
        // left mounted with the file written here: the live migration of step 15 reads it back at the destination
        t.pvXvdaFile = "/mnt/a/resumed";
        t.pvXvdaMd5 = resumed.get(0).substring(0, 32);
        Net.ping(after, pingTarget, 5, 0); // netfront -> netback (a new vif) -> switch -> pc's RTL8139
    }
}
