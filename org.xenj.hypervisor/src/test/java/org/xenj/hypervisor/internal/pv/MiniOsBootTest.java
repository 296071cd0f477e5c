package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Mini-OS — Xen's own small PV kernel, built from upstream by people outside this project
 * (../shared/guests/mini-os, its README says which commit and what a good boot prints) — boots on
 * the PV domain builder and the IA-32 CPU: the ELF notes in a non-allocated SHT_NOTE section, a
 * kernel linked at VIRT_BASE 0 (so L3 slot 3 needs the builder's extra L2 for the hypervisor area),
 * fninit before any #NM handler, its console ring, its xenbus test against our xenstore, and its
 * periodic timer thread. The image is the oracle: we did not write it.
 * {@code -Dxenj.minios=<file>} points at another copy (gzipped or not: the loader unpacks gzip as Xen's does).
 */
class MiniOsBootTest {

    private static final Pattern TICK = Pattern.compile("T\\(s=(\\d+) us=(\\d+)\\)");

    static Path image() {
        String p = System.getProperty("xenj.minios");
        return p != null ? Path.of(p) : Path.of("..", "..", "shared", "guests", "mini-os", "mini-os-x86_32.gz").toAbsolutePath().normalize();
    }

    @Test
    void miniOsBootsToItsTimerAndXenbusTest() throws Exception {
        Path gz = image();
        Assumptions.assumeTrue(Files.isReadable(gz), "Mini-OS image not found at " + gz + " (../shared/guests/mini-os; -Dxenj.minios=)");
        {
            MachineMemory machine = new MachineMemory(96L << 20);
            TestContext ctx = new TestContext(machine, 5, DomainType.PV);
            ctx.xen = new XenHost(machine); // what the core hands its builders
            ctx.config = DomainConfig.builder("minios").type(DomainType.PV).memoryMiB(32).kernel(gz.toString()).build(); // gzipped, as Xen's loader takes it
            ctx.memory.populate(0, 32 << 8);
            PvGuest guest = (PvGuest) new PvDomainBuilder().build(ctx);
            var exec = guest.executor(0);
            long start = System.nanoTime();
            long deadline = start + TimeUnit.SECONDS.toNanos(120);
            RunExit exit = null;
            String console = "";
            while (System.nanoTime() < deadline) {
                exit = exec.run(System.nanoTime() + 5_000_000);
                if (exit == RunExit.SHUTDOWN || exit == RunExit.CRASH) {
                    break;
                }
                ctx.runTimers();
                if (exit == RunExit.BLOCKED && !exec.wakeupPending()) {
                    Thread.sleep(1);
                    ctx.runTimers();
                }
                console = ctx.consoleText();
                if (ticks(console) >= 3 && console.contains("Thread \"xenbus_tester\" exited")) {
                    break;
                }
            }
            double secs = (System.nanoTime() - start) / 1e9;
            System.out.printf("Mini-OS after %.1f s:%n%s%nlog: %s%n", secs, console, ctx.log);
            assertNotEquals(RunExit.CRASH, exit, "Mini-OS crashed: " + ctx.log);
            assertTrue(console.contains("Xen Minimal OS"), console);
            assertTrue(console.contains("start_info:"), console);
            assertTrue(console.contains("MM: done"), console);
            assertTrue(console.contains("Initialising scheduler"), console);
            assertTrue(console.contains("xenbus initialised on irq"), console);
            assertTrue(console.contains("Doing xenbus test."), console);
            assertTrue(console.contains("Thread \"xenbus_tester\" exited"), "the xenbus test ends:\n" + console);
            assertTrue(ticks(console) >= 3, "the periodic thread prints T(s=.. us=..) lines:\n" + console);
            // Its thread sleeps one second of guest time between lines: TSC, Xen system time and the
            // wallclock agree (they once counted from different epochs and the lines came 5.3 s apart).
            // Load only lengthens gaps, so the shortest one is the guest's second.
            double gap = shortestTickGap(console);
            assertTrue(gap > 0.9 && gap < 2.0, "shortest gap between T lines, in seconds: " + gap);
            assertTrue(ctx.log.toString().contains("Bootstrapping..."), "console_io goes to the hypervisor log: " + ctx.log);
            // debug key 'd' on a PV vCPU: the registers (ring 1) and the event state its upcall depends on
            String dump = exec.debugState();
            assertTrue(dump.contains(" CPL=1") && dump.contains("CS=e019"), dump);
            assertTrue(dump.matches("(?s).*upcall_pending=[01] upcall_mask=[01] halted=(true|false).*"), dump);
            guest.destroy();
        }
    }

    private static double shortestTickGap(String console) {
        Matcher m = TICK.matcher(console);
        double last = Double.NaN, shortest = Double.POSITIVE_INFINITY;
        while (m.find()) {
            double t = Long.parseLong(m.group(1)) + Long.parseLong(m.group(2)) / 1e6;
            if (!Double.isNaN(last)) {
                shortest = Math.min(shortest, t - last);
            }
            last = t;
        }
        return shortest;
    }

    private static int ticks(String console) {
        Matcher m = TICK.matcher(console);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
