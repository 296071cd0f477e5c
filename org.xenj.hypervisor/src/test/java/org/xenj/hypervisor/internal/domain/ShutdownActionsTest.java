package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainListener;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.testsupport.ProbeExecutor;
import org.xenj.hypervisor.internal.testsupport.ProbeGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.TestCores;

class ShutdownActionsTest {

    private TestCores.Fixture fx;
    private HypervisorCore hv;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        fx = TestCores.start(2);
        hv = fx.core();
        hv.addListener(new DomainListener() {
            @Override
            public void created(Domain d) {
                events.add("created " + d.name());
            }

            @Override
            public void stateChanged(Domain d, DomainState previous) {
                events.add(d.name() + " " + previous + "->" + d.state());
            }

            @Override
            public void destroyed(int domid, String name) {
                events.add("destroyed " + name);
            }
        });
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void poweroffWithDestroyRemovesTheDomain() {
        Domain d = hv.create(TestCores.workload("w", "spin").onPoweroff(ShutdownAction.DESTROY).build());
        hv.shutdown(d.id(), ShutdownReason.POWEROFF);
        assertTrue(TestCores.await(() -> hv.lookup("w").isEmpty(), 5000));
        assertEquals(ShutdownReason.POWEROFF, d.shutdownReason());
        assertTrue(TestCores.await(() -> events.contains("destroyed w"), 2000), events.toString());
        assertTrue(events.contains("created w"));
    }

    @Test
    void rebootWithRestartMakesANewDomainOfTheSameName() {
        Domain d = hv.create(TestCores.workload("r", "spin").build());
        hv.reboot(d.id());
        assertTrue(TestCores.await(() -> hv.lookup("r").map(x -> x.id() != d.id()).orElse(false), 5000));
        Domain again = hv.lookup("r").orElseThrow();
        assertEquals(d.uuid(), again.uuid());
        assertNotEquals(d.id(), again.id());
        assertTrue(TestCores.await(() -> again.cpuTimeNanos() > 0, 5000), "the restarted domain runs");
        assertTrue(hv.lookup(d.id()).isEmpty());
    }

    @Test
    void preserveKeepsAShutDownDomainUntilDestroyed() {
        Domain d = hv.create(TestCores.workload("keep", "spin").onPoweroff(ShutdownAction.PRESERVE).build());
        hv.shutdown(d.id(), ShutdownReason.POWEROFF);
        assertTrue(TestCores.await(() -> d.state() == DomainState.SHUTDOWN, 5000));
        long t = d.cpuTimeNanos();
        LifecycleTest.sleep(30);
        assertEquals(t, d.cpuTimeNanos());
        assertEquals(4096, d.memoryKiB(), "memory kept");
        assertThrows(HypervisorException.class, () -> hv.unpause(d.id()));
        hv.destroy(d.id());
        assertTrue(hv.lookup("keep").isEmpty());
    }

    @Test
    void renameRestartKeepsTheOldOneUnderANewName() {
        Domain d = hv.create(TestCores.workload("rr", "spin").onReboot(ShutdownAction.RENAME_RESTART).build());
        hv.reboot(d.id());
        assertTrue(TestCores.await(() -> hv.lookup("rr").map(x -> x.id() != d.id()).orElse(false), 5000));
        assertEquals("rr-" + d.id(), d.name());
        assertEquals(DomainState.SHUTDOWN, d.state());
    }

    @Test
    void aThrowingExecutorCrashesOnlyItsDomainAndOnCrashApplies() {
        ProbeGuestBuilder probes = new ProbeGuestBuilder(DomainType.PV, 0, 0, 16);
        fx.plugins().addBuilder(probes);
        Domain victim = hv.create(org.xenj.hypervisor.api.DomainConfig.builder("victim").type(DomainType.PV).memoryMiB(2)
                .onCrash(ShutdownAction.PRESERVE).build());
        Domain bystander = hv.create(TestCores.workload("bystander", "spin").build());
        assertTrue(TestCores.await(() -> probes.executors.get(0).runs() > 0, 5000));
        ProbeExecutor e = probes.executors.get(0);
        e.throwOnNextRun();
        assertTrue(TestCores.await(() -> victim.state() == DomainState.CRASHED, 5000));
        assertEquals(ShutdownReason.CRASH, victim.shutdownReason());
        assertTrue(hv.dmesg().stream().anyMatch(l -> l.contains("crashed") && l.contains("probe executor failure")), hv.dmesg().toString());
        long t = bystander.cpuTimeNanos();
        assertTrue(TestCores.await(() -> bystander.cpuTimeNanos() > t + 5_000_000L, 5000), "the other domain runs on");
    }

    @Test
    void aGuestShuttingItselfDownGetsItsReasonsAction() {
        ProbeGuestBuilder probes = new ProbeGuestBuilder(DomainType.PV, 0, 0, 16);
        fx.plugins().addBuilder(probes);
        Domain d = hv.create(org.xenj.hypervisor.api.DomainConfig.builder("self").type(DomainType.PV).memoryMiB(2).vcpus(2)
                .onPoweroff(ShutdownAction.DESTROY).onCrash(ShutdownAction.PRESERVE).build());
        assertTrue(TestCores.await(() -> probes.executors.get(1).runs() > 0, 5000));
        probes.executors.get(1).shutdownOnNextRun(ShutdownReason.CRASH);
        assertTrue(TestCores.await(() -> d.state() == DomainState.CRASHED, 5000), "on_crash=preserve keeps it, crashed");
        assertEquals(ShutdownReason.CRASH, d.shutdownReason());
        assertTrue(TestCores.await(() -> hv.schedOf(d.id()).quiescent(), 2000), "its other vCPU stopped too");
        long r0 = probes.executors.get(0).runs();
        LifecycleTest.sleep(20);
        assertEquals(r0, probes.executors.get(0).runs());
        assertTrue(TestCores.await(() -> events.stream().anyMatch(e -> e.startsWith("self ") && e.endsWith("->CRASHED")), 2000),
                events.toString());
    }

    @Test
    void shutdownOfAGuestWithoutAChannelIsAClearError() {
        ProbeGuestBuilder probes = new ProbeGuestBuilder(DomainType.PV, 0, 0, 16);
        fx.plugins().addBuilder(probes);
        Domain d = hv.create(org.xenj.hypervisor.api.DomainConfig.builder("mute").type(DomainType.PV).memoryMiB(2).build());
        HypervisorException e = assertThrows(HypervisorException.class, () -> hv.shutdown(d.id(), ShutdownReason.POWEROFF));
        assertTrue(e.getMessage().contains("no shutdown channel"), e.getMessage());
        assertEquals(DomainState.RUNNING, d.state());
    }
}
