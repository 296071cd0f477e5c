package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The bare PC's workload across a switch of host (xl save/restore, xl migrate): a loop of direct
 * reads from sdb, each md5'd, runs before and after the switch; then every read must have been
 * answered once and right, ext4 on sda written and read back after a remount, and pings answered
 * through both NICs (a failed ping reports the NICs' registers and the controllers).
 */
final class ReadLoopAcross {

    static final int ROUNDS = 30;
    static final String ZERO_MD5 = zeroMd5();

    private final GuestDevicesBootTest t;
    /** What the switch is called in messages ("migration", "save and restore"). */
    private final String event;
    private final String marker;
    private int from;

    ReadLoopAcross(GuestDevicesBootTest t, String event, String marker) {
        this.t = t;
        this.event = event;
        this.marker = marker;
    }

    private static String zeroMd5() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(new byte[1 << 20]));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Types the loop into pc and waits for its first md5: the switch may come now. */
    void start() throws InterruptedException {
        GuestShell pc = t.pc;
        from = pc.text().length();
        pc.type("i=0; while [ $i -lt " + ROUNDS + " ]; do dd if=/dev/sdb bs=64k count=16 iflag=direct 2>/dev/null | md5sum;"
                + " i=$((i+1)); done; echo " + marker + "-$((6*7))-DONE\n");
        assertTrue(pc.waitFor(ZERO_MD5 + "  -", from, 300_000) >= 0, "pc: the read loop gave no md5:\n" + pc.tail());
    }

    /** What the old console showed of the loop. */
    String before(GuestShell old) {
        return old.text().substring(from);
    }

    /** After the switch: the loop finished on {@code after} with every read right; ext4 and both NICs work. */
    void finish(String before, GuestShell after, String file) throws Exception {
        assertTrue(after.waitFor(marker + "-42-DONE", 0, 600_000) >= 0, "pc: the read loop did not finish after the " + event + ":\n"
                + after.tail() + "\nbefore:\n" + GuestShell.tail(before) + "\nhost log:\n" + t.hostLog());
        String all = before + after.text();
        long answers = all.lines().filter(l -> l.strip().matches("[0-9a-f]{32}  -")).count();
        long right = all.lines().filter(l -> l.strip().equals(ZERO_MD5 + "  -")).count();
        long earlier = before.lines().filter(l -> l.strip().equals(ZERO_MD5 + "  -")).count();
        System.out.printf("[guest-devices] pc read loop: %d md5s before the %s, %d in all, %d right%n", earlier, event, answers, right);
        assertEquals(ROUNDS, answers, "every read answered once:\n" + GuestShell.tail(all));
        assertEquals(ROUNDS, right, "every read right");
        assertTrue(earlier < ROUNDS, "the " + event + " came mid-workload");
        String fs = after.run("mkdir -p /mnt && mount -t ext4 /dev/sda /mnt && dd if=/dev/urandom of=/mnt/" + file + " bs=64k count=8 2>/dev/null && "
                + "md5sum /mnt/" + file + " && umount /mnt && mount -t ext4 /dev/sda /mnt && md5sum /mnt/" + file + " && umount /mnt"
                + " && echo fs-ok-$((6*7))", 600);
        java.util.List<String> md5s = fs.lines().filter(l -> l.matches("[0-9a-f]{32}  /mnt/" + file)).toList();
        assertTrue(fs.contains("fs-ok-42") && md5s.size() == 2 && md5s.get(0).equals(md5s.get(1)), "pc: ext4 on sda after the " + event + ":\n" + fs);
        System.out.println("[guest-devices] pc after the " + event + ": sda ext4 written, remounted, read back: " + md5s.get(0));
        try {
            Net.ping(after, GuestDevicesBootTest.PV_IP, 5, 1400); // through the RTL8139
            Net.ping(after, GuestDevicesBootTest.PV_IP2, 5, 1400); // through the NE2000
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + t.nicReport(), e);
        }
    }
}
