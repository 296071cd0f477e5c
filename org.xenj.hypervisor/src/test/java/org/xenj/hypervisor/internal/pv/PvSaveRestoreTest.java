package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.SaveInfo;
import org.xenj.hypervisor.internal.evtchn.EventChannelsState;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenVcpu;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/**
 * {@code xen:save} / {@code xen:restore} of a PV domain without the guest's help, on Xen's own
 * Mini-OS (the oracle: built upstream, not here). It is saved while its periodic thread prints
 * {@code T(s=.. us=..)} once a guest second; the restored copy must go on printing from where the
 * original stopped — its timer (VIRQ_TIMER through the restored event-channel table and event
 * callback) fires, its console ring reaches Domain 0 through the console port bound again — and
 * its trap table, callbacks, kernel stack, page-table base, page types and event-channel bindings
 * must be the saved ones. Restored twice from the same file; a damaged copy is refused with
 * nothing created.
 */
class PvSaveRestoreTest {

    private static final Pattern TICK = Pattern.compile("T\\(s=(\\d+) us=(\\d+)\\)");

    @TempDir
    Path dir;

    /** What the test compares between the original and its restored copies. */
    private record XenFacts(List<int[]> traps, List<int[]> callbacks, List<Long> cr3, List<EventChannelsState.Port> ports, int[] types,
            List<String> watches) {
    }

    private static XenFacts facts(PvGuest g) {
        XenDomain d = g.domain();
        List<int[]> traps = new ArrayList<>(), cbs = new ArrayList<>();
        List<Long> cr3 = new ArrayList<>();
        for (XenVcpu v : d.vcpus) {
            int[] t = new int[256 * 3];
            for (int i = 0; i < 256; i++) {
                t[3 * i] = v.trapCs[i];
                t[3 * i + 1] = v.trapEip[i];
                t[3 * i + 2] = v.trapFlags[i];
            }
            traps.add(t);
            cbs.add(new int[] {v.eventCs, v.eventEip, v.failsafeCs, v.failsafeEip, v.kernelSs, v.kernelSp, v.gdtEntries, v.ldtBase,
                    v.ldtEntries, Arrays.hashCode(v.gdtFrames)});
            cr3.add(v.cr3);
        }
        // Domain 0's end of the console and store ports is new in a restored domain: compare the guest's side
        List<EventChannelsState.Port> ports = d.evtchn.saveState().ports().stream()
                .map(p -> new EventChannelsState.Port(p.port(), p.status(), p.vcpu(), p.remoteDom(), p.remoteDom() == 0 && p.remotePort() > 0
                        ? 1 : p.remotePort(), p.virq())).toList();
        int[] types;
        synchronized (d.mmuLock) {
            types = d.pageTables.saveTypes();
        }
        // the guest's xenstore watches, by path relative to its home (its domain id changes) and token
        String home = "/local/domain/" + d.domid + "/";
        List<String> watches = d.host.store.watchesOf(d.domid).stream().map(w -> w.path().replace(home, "~/") + " " + w.token()).sorted()
                .toList();
        return new XenFacts(traps, cbs, cr3, ports, types, watches);
    }

    private static void assertSameFacts(XenFacts a, XenFacts b) {
        for (int i = 0; i < a.traps.size(); i++) {
            assertArrayEquals(a.traps.get(i), b.traps.get(i), "vCPU " + i + "'s trap table");
            assertArrayEquals(a.callbacks.get(i), b.callbacks.get(i), "vCPU " + i + "'s callbacks, kernel stack, GDT/LDT");
        }
        assertEquals(a.cr3, b.cr3, "page-table bases");
        assertEquals(a.ports, b.ports, "event channel bindings");
        assertArrayEquals(a.types, b.types, "page types, counts and pins");
        assertEquals(a.watches, b.watches, "xenstore watches");
    }

    @Test
    void miniOsGoesOnWhereItWasSaved() throws Exception {
        Path gz = MiniOsBootTest.image();
        Assumptions.assumeTrue(Files.isReadable(gz), "Mini-OS image not found at " + gz);
        try (TestCores.Fixture f = TestCores.start(1, "96M")) {
            f.plugins().addBuilder(new PvDomainBuilder());
            Domain d = f.core().create(DomainConfig.builder("minios").type(DomainType.PV).memoryMiB(32).kernel(gz.toString()).build());
            assertTrue(TestCores.await(() -> ticks(console(f, d.id())).size() >= 2, 120_000),
                    "Mini-OS prints its T lines:\n" + console(f, d.id()) + "\n" + String.join("\n", f.core().dmesg()));
            f.core().pause(d.id());
            PvGuest original = (PvGuest) f.core().guestOf(d.id());
            XenFacts before = facts(original);
            System.out.println("Mini-OS's xenstore watches at the save: " + before.watches());
            assertFalse(before.watches().isEmpty(), "Mini-OS watches control/shutdown (and its frontends their backends)");
            List<Double> ticksBefore = ticks(console(f, d.id()));
            double lastBefore = ticksBefore.get(ticksBefore.size() - 1);
            f.core().unpause(d.id()); // the save pauses it itself, mid-run
            long free = f.core().info().freeMemoryKiB();
            Path image = dir.resolve("minios.save");
            SaveInfo info = null;
            for (int attempt = 1; info == null; attempt++) { // a transaction opened between the wait and the pause: it runs on
                try {
                    info = f.core().save(d.id(), image, false);
                } catch (HypervisorException e) {
                    if (attempt == 5 || !e.getMessage().contains("transaction")) {
                        throw e;
                    }
                    assertTrue(e.getMessage().endsWith("it runs on"), e.getMessage());
                }
            }
            System.out.println("saved: " + info);
            assertTrue(f.core().lookup(d.id()).isEmpty(), "the saved domain is destroyed");
            long freeAfterSave = f.core().info().freeMemoryKiB();
            assertTrue(freeAfterSave > free, "its memory is back");

            // a damaged copy: refused, nothing created, no memory taken
            byte[] bytes = Files.readAllBytes(image);
            byte[] bad = bytes.clone();
            bad[bad.length / 2] ^= 0x10;
            Path damaged = dir.resolve("damaged.save");
            Files.write(damaged, bad);
            int domains = f.core().list().size();
            HypervisorException e = assertThrows(HypervisorException.class, () -> f.core().restore(damaged, Map.of(), false));
            assertTrue(e.getMessage().contains("nothing was created"), e.getMessage());
            assertEquals(domains, f.core().list().size());
            assertEquals(freeAfterSave, f.core().info().freeMemoryKiB());

            for (int round = 1; round <= 2; round++) { // twice from the same file
                Domain r = f.core().restore(image, Map.of(), true);
                PvGuest restored = (PvGuest) f.core().guestOf(r.id());
                assertSameFacts(before, facts(restored));
                f.core().unpause(r.id());
                assertTrue(TestCores.await(() -> ticks(console(f, r.id())).size() >= 2, 60_000),
                        "round " + round + ": the restored Mini-OS prints T lines again:\n" + console(f, r.id()) + "\n"
                                + String.join("\n", f.core().dmesg()));
                List<Double> after = ticks(console(f, r.id()));
                System.out.println("round " + round + ": last T before the save " + lastBefore + " s, after the restore " + after);
                assertTrue(after.get(0) > lastBefore, "guest time goes on from the save: " + after.get(0) + " after " + lastBefore);
                assertTrue(after.get(0) < lastBefore + 60, "and does not jump: " + after.get(0) + " after " + lastBefore);
                for (int i = 1; i < after.size(); i++) {
                    assertTrue(after.get(i) > after.get(i - 1), "T lines go up: " + after);
                }
                // Domain 0's console end still answers: input reaches the guest's ring (no crash, it runs on)
                assertFalse(String.join("\n", f.core().dmesg()).contains("crashed"), String.join("\n", f.core().dmesg()));
                if (round == 1) {
                    // a second copy while the first holds the frames: refused, nothing created
                    int n = f.core().list().size();
                    HypervisorException busy = assertThrows(HypervisorException.class, () -> f.core().restore(image, Map.of("name", "again"),
                            false));
                    assertTrue(busy.getMessage().contains("nothing was created") && busy.getMessage().contains("machine frame"),
                            busy.getMessage());
                    assertEquals(n, f.core().list().size());
                }
                if (round == 1) {
                    f.core().destroy(r.id());
                    continue;
                }
                // xenstore and the restored watch work: Domain 0 asks it to power off, its shutdown thread's
                // watch on control/shutdown fires through the new connection and the guest shuts itself down
                f.core().shutdown(r.id(), org.xenj.hypervisor.api.ShutdownReason.POWEROFF);
                assertTrue(TestCores.await(() -> f.core().lookup(r.id()).isEmpty(), 60_000),
                        "the restored Mini-OS powers off when asked through xenstore:\n" + console(f, r.id()) + "\n"
                                + String.join("\n", f.core().dmesg()));
            }
        }
    }

    private static final Pattern COUNT = Pattern.compile("pv-test: count (\\d+) traps (\\d+)");

    /**
     * xenj's PV test kernel in its count mode (count=10: a 10 ms single-shot timer tick, an int $0x81
     * through its own trap table each tick, a line and a xenstore write every 10 ticks), saved with
     * -p mid-count, the original destroyed, restored: the count goes on from where it was, every line's
     * trap count equals its tick count (a lost trap table would crash it at the first int), and it
     * powers off when Domain 0 writes control/shutdown (its xenstore ring works).
     */
    @Test
    void theTestKernelCountsOnAcrossASave() throws Exception {
        PvTestKernelTest.buildKernel();
        Path kernel = Path.of("target", "pv-test", "pv-test.elf").toAbsolutePath();
        try (TestCores.Fixture f = TestCores.start(1)) {
            f.plugins().addBuilder(new PvDomainBuilder());
            Domain d = f.core().create(DomainConfig.builder("counter").type(DomainType.PV).memoryMiB(16).kernel(kernel.toString())
                    .cmdline("count=10").onPoweroff(org.xenj.hypervisor.api.ShutdownAction.PRESERVE).build());
            assertTrue(TestCores.await(() -> counts(console(f, d.id())).size() >= 3, 60_000),
                    "it counts:\n" + console(f, d.id()) + "\n" + String.join("\n", f.core().dmesg()));
            Path image = dir.resolve("counter.save");
            SaveInfo info = null;
            for (int attempt = 1; info == null; attempt++) {
                try {
                    info = f.core().save(d.id(), image, true);
                } catch (HypervisorException e) {
                    if (attempt == 5 || !e.getMessage().contains("transaction")) {
                        throw e;
                    }
                }
            }
            System.out.println("saved: " + info);
            Thread.sleep(200); // Domain 0's console end drains what the guest wrote before the pause
            List<long[]> before = counts(console(f, d.id()));
            long last = before.get(before.size() - 1)[0];
            f.core().destroy(d.id()); // its frames are the restore's
            Domain r = f.core().restore(image, Map.of(), false);
            assertTrue(TestCores.await(() -> counts(console(f, r.id())).size() >= 3, 60_000),
                    "the restored kernel counts on:\n" + console(f, r.id()) + "\n" + String.join("\n", f.core().dmesg()) + "\n"
                            + ((PvGuest) f.core().guestOf(r.id())).executor(0).debugState() + " timer " + ((PvGuest) f.core().guestOf(r.id())).domain()
                                    .vcpus[0].timerDeadline + " now " + ((PvGuest) f.core().guestOf(r.id())).domain().systemTime());
            List<long[]> after = counts(console(f, r.id()));
            System.out.println("last count before the save " + last + ", after the restore "
                    + after.stream().map(c -> Long.toString(c[0])).toList());
            // Domain 0 may have drained the ring's last line after the pages were taken: it then comes again
            assertTrue(after.get(0)[0] == last + 10 || after.get(0)[0] == last, "goes on from " + last + ": " + after.get(0)[0]);
            for (int i = 0; i < after.size(); i++) {
                assertEquals(after.get(i)[0], after.get(i)[1], "every tick took its int $0x81 through the trap table");
                if (i > 0) {
                    assertEquals(after.get(i - 1)[0] + 10, after.get(i)[0], "no tick lost or repeated: " + after);
                }
            }
            f.core().shutdown(r.id(), org.xenj.hypervisor.api.ShutdownReason.POWEROFF);
            assertTrue(TestCores.await(() -> console(f, r.id()).contains("asked to shut down"), 30_000),
                    "it reads control/shutdown through its restored xenstore ring:\n" + console(f, r.id()));
        }
    }

    private static List<long[]> counts(String console) {
        Matcher m = COUNT.matcher(console);
        List<long[]> out = new ArrayList<>();
        while (m.find()) {
            out.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
        }
        return out;
    }

    private static String console(TestCores.Fixture f, int domid) {
        try {
            return new String(f.core().console(domid).history(), StandardCharsets.ISO_8859_1);
        } catch (RuntimeException e) {
            return "";
        }
    }

    private static List<Double> ticks(String console) {
        Matcher m = TICK.matcher(console);
        List<Double> out = new ArrayList<>();
        while (m.find()) {
            out.add(Long.parseLong(m.group(1)) + Long.parseLong(m.group(2)) / 1e6);
        }
        return out;
    }
}
