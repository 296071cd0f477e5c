package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.backend.BackendHost;
import org.xenj.hypervisor.internal.backend.BackendKinds;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * End to end: builds guests/pv-test from source, boots it with the PV domain builder on the IA-32
 * CPU with Domain 0's Java echo backend (which finds the guest's grant and port in xenstore, maps
 * the page, answers through it and the event channel), and checks what the kernel printed, that
 * the backend's mapping is gone and that the kernel powered off.
 */
class PvTestKernelTest {

    private static Path kernel;

    @BeforeAll
    static void buildKernel() throws Exception {
        Path script = Path.of("..", "guests", "pv-test", "build.sh").toAbsolutePath().normalize();
        kernel = Path.of("target", "pv-test", "pv-test.elf").toAbsolutePath();
        Process p = new ProcessBuilder("sh", script.toString(), kernel.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "kernel build timed out");
        assertEquals(0, p.exitValue(), "building the PV test kernel failed (needs gcc -m32):\n" + out);
        assertTrue(Files.size(kernel) > 4096);
    }

    @Test
    void theTestKernelRunsEndToEnd() throws Exception {
        MachineMemory machine = new MachineMemory(64L << 20);
        XenHost host = new XenHost(machine);
        TestContext ctx = new TestContext(machine, 7, DomainType.PV);
        ctx.xen = host;
        ctx.config = DomainConfig.builder("pv-test").type(DomainType.PV).memoryMiB(16).kernel(kernel.toString())
                .raw(Map.of(BackendKinds.KEY, "[\"" + PvTestEchoBackend.KIND + "\"]")).build();
        ctx.memory.populate(0, 16 << 8); // what the core does before a builder runs
        // what the core does around a build: backends asked for by the config attach once the domain exists
        BackendHost backends = new BackendHost(host, ctx::log);
        PvTestEchoBackend echo = new PvTestEchoBackend();
        backends.addBackend(echo, PvTestEchoBackend.KIND);
        PvGuest guest = (PvGuest) new PvDomainBuilder().build(ctx);
        backends.domainBuilt(7, ctx.config);
        var exec = guest.executor(0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        RunExit exit = null;
        while (System.nanoTime() < deadline) {
            exit = exec.run(System.nanoTime() + 5_000_000);
            if (exit == RunExit.SHUTDOWN || exit == RunExit.CRASH) {
                break;
            }
            ctx.runTimers(); // timers fire as early as the guest allows: deadlines already past, as under load
            if (exit == RunExit.BLOCKED && !exec.wakeupPending()) {
                Thread.sleep(1);
                ctx.runTimers();
            }
        }
        String console = ctx.consoleText();
        System.out.println("pv-test console:\n" + console + "log: " + ctx.log);
        assertEquals(RunExit.SHUTDOWN, exit, console + ctx.log);
        assertEquals(ShutdownReason.POWEROFF, ctx.shutdown);
        assertTrue(console.contains("pv-test: hello from a xenj PV guest (xen-3.0-x86_32p, 4096 pages)"), console);
        assertFalse(console.contains("pv-test: console_io works"), "console_io goes to the hypervisor log, not the console");
        assertTrue(ctx.log.toString().contains("pv-test: console_io works"), ctx.log.toString());
        assertTrue(console.contains("pv-test: writable page tables: stores into its own L1 mapped and unmapped a page: ok"), console);
        assertTrue(console.contains("pv-test: timer fired on port"), console);
        assertTrue(console.contains("pv-test: grant shared with dom0: ok"), console);
        assertTrue(console.contains("pv-test: all done, powering off"), console);
        assertFalse(console.contains("FAIL"), console);
        assertEquals(0, host.dom0Grants.mappedCount(), "the backend unmapped the guest's page");
        assertEquals("connected", host.store.readString(0, "/local/domain/7/data/pv-test/state"));
        assertEquals(List.of("xenj-backend-pvtest-d7"), echo.handshakeThreads, "the handshake ran on the backend's executor");
        backends.domainGone(7);
        guest.destroy();
        assertNull(host.domain(7));
    }
}
