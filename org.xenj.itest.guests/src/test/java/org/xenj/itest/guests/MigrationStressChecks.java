package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.xenj.hypervisor.api.MigrationInfo;

/**
 * Opt-in ({@code -Dxenj.guest.migrationStress=N}): the bare PC is live-migrated to localhost N times
 * in a row while two pings run through its RTL8139 and NE2000 at once (the two share IRQ 10, and
 * each arrival's self-announce makes both receive at the same instant). Linux's 8139too and
 * ne2k-pci are the oracle: their transmit watchdogs must stay silent and each ping lose at most
 * the few echoes a downtime costs.
 */
final class MigrationStressChecks {

    private static final Pattern SUMMARY = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received");
    private final GuestDevicesBootTest t;

    MigrationStressChecks(GuestDevicesBootTest t) {
        this.t = t;
    }

    void pcMigratedRepeatedlyWithBothNicsBusy(int times) throws Exception {
        t.pc.run("dmesg -c >/dev/null; ping -i 0.1 " + GuestDevicesBootTest.PV_IP + " >/tmp/bg-rtl 2>&1 & ping -i 0.1 "
                + GuestDevicesBootTest.PV_IP2 + " >/tmp/bg-ne 2>&1 & echo started", 60);
        long watchdogs = 0;
        for (int i = 1; i <= times; i++) {
            Thread.sleep(1500);
            GuestShell old = t.pc;
            MigrationInfo info = new MigrationChecks(t).migrateToLocalhost();
            old.close();
            String w = t.pc.run("echo wd$(dmesg | grep -c 'timed out')", 120);
            Matcher m = Pattern.compile("wd(\\d+)").matcher(w);
            watchdogs = m.find() ? Long.parseLong(m.group(1)) : -1;
            System.out.printf("[guest-devices] stress migration %d of %d: downtime %.1f ms, total %.1f ms, transmit watchdogs so far %d%n", i,
                    times, info.downtimeNanos() / 1e6, info.totalNanos() / 1e6, watchdogs);
            if (watchdogs != 0) {
                break;
            }
        }
        String out = t.pc.run("killall -INT ping; sleep 2; cat /tmp/bg-rtl | tail -n 3; cat /tmp/bg-ne | tail -n 3; dmesg | tail -n 20", 120);
        System.out.println("[guest-devices] pings during the migrations:\n" + out.trim());
        assertTrue(watchdogs == 0, "a NIC's transmit watchdog fired during the migrations:\n" + out + "\n" + t.nicReport());
        Matcher m = SUMMARY.matcher(out);
        int pings = 0;
        while (m.find()) {
            pings++;
            long sent = Long.parseLong(m.group(1)), got = Long.parseLong(m.group(2));
            assertTrue(sent - got <= 3L * times + 2, "more echoes lost than the downtimes explain: " + m.group());
        }
        assertTrue(pings == 2, "both pings' summaries:\n" + out);
    }
}
