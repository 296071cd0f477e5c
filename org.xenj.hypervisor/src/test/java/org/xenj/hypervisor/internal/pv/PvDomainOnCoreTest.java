package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/** The PV builder as the domain core uses it: create, run on a pCPU under a scheduler, power off. */
class PvDomainOnCoreTest {

    @Test
    void pvTestKernelRunsUnderTheCoreAndPowersOff() throws Exception {
        PvTestKernelTest.buildKernel();
        Path kernel = Path.of("target", "pv-test", "pv-test.elf").toAbsolutePath();
        try (TestCores.Fixture f = TestCores.start(1)) {
            f.plugins().addBuilder(new PvDomainBuilder());
            PvTestEchoBackend echo = new PvTestEchoBackend();
            f.plugins().addBackend(echo, PvTestEchoBackend.KIND);
            Domain d = f.core().create(DomainConfig.builder("pv-test").type(DomainType.PV).memoryMiB(16)
                    .kernel(kernel.toString()).onPoweroff(ShutdownAction.PRESERVE)
                    .raw(java.util.Map.of("backends", "[\"pvtest\"]")).build());
            boolean off = TestCores.await(() -> f.core().lookup(d.id()).map(x -> x.state() == DomainState.SHUTDOWN).orElse(false), 30_000);
            if (!off) {
                PvGuest g = (PvGuest) f.core().guestOf(d.id());
                var x = g.domain();
                fail("state " + d.state() + "\n" + String.join("\n", f.core().dmesg()) + "\nconsole: "
                        + new String(f.core().console(d.id()).history(), StandardCharsets.ISO_8859_1)
                        + "\nupcall pending " + x.events.upcallPending(0) + " masked " + x.events.upcallMasked(0)
                        + "\n" + g.vcpu(0).cpu().stateString());
            }
            String console = new String(f.core().console(d.id()).history(), StandardCharsets.ISO_8859_1);
            assertTrue(console.contains("pv-test: grant shared with dom0: ok"), console);
            assertTrue(console.contains("pv-test: all done, powering off"), console);
            assertEquals(java.util.List.of("xenj-backend-pvtest-d" + d.id()), echo.handshakeThreads);
            f.core().destroy(d.id());
            String dmesg = String.join("\n", f.core().dmesg());
            assertTrue(dmesg.contains("backend pvtest (" + PvTestEchoBackend.class.getName() + ") for d" + d.id()
                    + ": detached from d" + d.id() + " (domain destroyed)"), dmesg);
        }
    }

    @Test
    void badKernelIsAClearErrorAndLeavesNothing() {
        try (TestCores.Fixture f = TestCores.start(1)) {
            f.plugins().addBuilder(new PvDomainBuilder());
            int before = f.core().list().size();
            long free = f.core().info().freeMemoryKiB();
            HypervisorException e = assertThrows(HypervisorException.class, () -> f.core().create(
                    DomainConfig.builder("bad").type(DomainType.PV).memoryMiB(8).kernel("/nonexistent/kernel").build()));
            assertTrue(e.getMessage().contains("/nonexistent/kernel"), e.getMessage());
            assertEquals(before, f.core().list().size());
            assertEquals(free, f.core().info().freeMemoryKiB());
        }
    }
}
