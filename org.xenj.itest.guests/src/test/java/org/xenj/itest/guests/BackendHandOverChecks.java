package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.xenj.dom0.blkback.internal.BlkbackService;
import org.xenj.dom0.netback.internal.Netback;

/**
 * blkback and netback replaced under the running pv guest, as {@code bundle:update} does in Karaf
 * (the old service leaves the hypervisor's plugins, a new instance of the same class arrives), while
 * Linux's xen-blkfront writes and reads back 16 MiB on xvda and xen-netfront carries pings: the md5
 * of what was written equals that of what is read back after dropping the guest's caches, no ping
 * is lost, and Linux's frontends never reconnected (its kernel log has no new xen-blkfront or
 * xen-netfront line).
 */
final class BackendHandOverChecks {

    static final int ROUNDS = 3;
    private static final Pattern PAUSE = Pattern.compile("backend (vbd|vif) for d(\\d+): handed over from .* rings paused ([0-9.]+) ms");
    private final GuestDevicesBootTest t;
    private final GuestShell pv;

    BackendHandOverChecks(GuestDevicesBootTest t) {
        this.t = t;
        this.pv = t.pv;
    }

    Object replaceBlkbackAndNetbackUnderLoad() throws Exception {
        String frontLogBefore = pv.run("dmesg | grep -c -i -E 'blkfront|netfront|xen_netfront|vbd|vif' ; echo front-lines", 60);
        long before = t.xen.dmesg().stream().filter(l -> PAUSE.matcher(l).find()).count();
        pv.run("rm -f /tmp/io /tmp/ping; mkdir -p /mnt/a && mount -t ext4 /dev/xvda /mnt/a && "
                + "( dd if=/dev/urandom of=/mnt/a/handover bs=64k count=256 2>/dev/null; md5sum /mnt/a/handover > /tmp/md5w; sync; "
                + "echo 3 > /proc/sys/vm/drop_caches; md5sum /mnt/a/handover > /tmp/md5r; echo io-done > /tmp/io ) >/dev/null 2>&1 & "
                + "( ping -c 20 " + GuestDevicesBootTest.RTL_IP + " > /tmp/ping 2>&1; echo ping-done >> /tmp/ping ) >/dev/null 2>&1 & "
                + "echo started", 60);
        for (int i = 0; i < ROUNDS; i++) {
            Thread.sleep(1500);
            BlkbackService oldBlk = t.blkback;
            t.plugins.removeBackend(oldBlk);
            t.blkback = new BlkbackService(t.images);
            t.plugins.addBackend(t.blkback, BlkbackService.KIND);
            Thread.sleep(1500);
            Netback oldNet = t.netback;
            t.plugins.removeBackend(oldNet);
            t.netback = new Netback(t.sw);
            t.plugins.addBackend(t.netback, Netback.KIND);
            oldNet.close();
        }
        long end = System.currentTimeMillis() + 600_000;
        String done = "";
        while (System.currentTimeMillis() < end) {
            done = pv.run("cat /tmp/io 2>/dev/null; tail -2 /tmp/ping 2>/dev/null", 60);
            if (done.contains("io-done") && done.contains("ping-done")) {
                break;
            }
            Thread.sleep(2000);
        }
        String result = pv.run("cat /tmp/md5w /tmp/md5r /tmp/ping; umount /mnt/a && echo umounted", 120);
        System.out.println("[guest-devices] pv during " + ROUNDS + " blkback and netback hand-overs:\n" + result.trim());
        assertTrue(done.contains("io-done") && done.contains("ping-done"), "the guest's dd/ping did not finish:\n" + done);
        Matcher w = Pattern.compile("([0-9a-f]{32})\\s+/mnt/a/handover").matcher(result);
        assertTrue(w.find(), "no md5 of what was written:\n" + result);
        String written = w.group(1);
        assertTrue(w.find(), "no md5 of what was read back:\n" + result);
        assertEquals(written, w.group(1), "what xen-blkfront read back after the hand-overs is what it wrote");
        assertTrue(result.contains("20 packets transmitted, 20 packets received, 0% packet loss"), "pings lost:\n" + result);
        assertTrue(result.contains("umounted"), result);

        List<Double> pauses = new ArrayList<>();
        int vbd = 0, vif = 0;
        for (String l : t.xen.dmesg()) {
            Matcher m = PAUSE.matcher(l);
            if (m.find()) {
                pauses.add(Double.parseDouble(m.group(3)));
                if (m.group(2).equals(String.valueOf(t.pvDom.id()))) {
                    vbd += m.group(1).equals("vbd") ? 1 : 0;
                    vif += m.group(1).equals("vif") ? 1 : 0;
                }
            }
        }
        t.xen.dmesg().stream().filter(l -> l.contains("handed over") || l.contains("quiesced")).skip(Math.max(0, before - 1))
                .forEach(l -> System.out.println("[guest-devices] " + l.trim()));
        assertEquals(ROUNDS, vbd, "pv's blkback handed over each time:\n" + t.hostLog());
        assertEquals(ROUNDS, vif, "pv's netback handed over each time:\n" + t.hostLog());
        Collections.sort(pauses);
        System.out.printf("[guest-devices] backend hand-overs: %d, rings paused median %.1f ms, max %.1f ms%n", pauses.size(),
                pauses.get(pauses.size() / 2), pauses.get(pauses.size() - 1));
        String frontLogAfter = pv.run("dmesg | grep -c -i -E 'blkfront|netfront|xen_netfront|vbd|vif' ; echo front-lines", 60);
        assertEquals(frontLogBefore.trim(), frontLogAfter.trim(), "Linux's frontends logged something (a reconnect?):\n"
                + pv.run("dmesg | tail -20", 60));
        return null;
    }
}
