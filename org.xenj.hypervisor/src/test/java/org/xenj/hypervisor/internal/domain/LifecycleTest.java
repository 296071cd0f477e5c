package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.internal.workload.WorkloadGuest;

class LifecycleTest {

    private TestCores.Fixture fx;
    private HypervisorCore hv;

    @BeforeEach
    void start() {
        fx = TestCores.start(2);
        hv = fx.core();
    }

    @AfterEach
    void stop() {
        fx.close();
        assertEquals(0, fx.checker().violations(), () -> "protocol: " + fx.checker().first());
    }

    @Test
    void domain0ExistsFromStartUp() {
        List<Domain> list = hv.list();
        assertEquals(1, list.size());
        Domain d0 = list.get(0);
        assertEquals(0, d0.id());
        assertEquals("Domain-0", d0.name());
        assertEquals(DomainType.DOM0, d0.type());
        assertEquals(8 * 1024, d0.memoryKiB());
        assertEquals(DomainState.RUNNING, d0.state());
        assertTrue(d0.isPrivileged());
        assertSame(d0, hv.resolve("Domain-0"));
        assertSame(d0, hv.resolve("0"));
        assertThrows(HypervisorException.class, () -> hv.destroy(0));
        assertThrows(HypervisorException.class, () -> hv.pause(0));
    }

    @Test
    void spinDomainRunsPausesAndIsDestroyed() {
        Domain d = hv.create(TestCores.workload("spinner", "spin").build());
        assertEquals(1, d.id());
        assertTrue(TestCores.await(() -> d.cpuTimeNanos() > 20_000_000L, 5000), "spin domain gets CPU");
        assertEquals(DomainState.RUNNING, d.state());
        WorkloadGuest g = (WorkloadGuest) hv.guestOf(d.id());
        assertTrue(g.workUnits() > 0);

        hv.pause(d.id());
        assertEquals(DomainState.PAUSED, d.state());
        long frozen = d.cpuTimeNanos();
        sleep(50);
        assertEquals(frozen, d.cpuTimeNanos(), "a paused domain does not run");

        hv.unpause(d.id());
        assertTrue(TestCores.await(() -> d.cpuTimeNanos() > frozen, 5000));

        long freeBefore = hv.info().freeMemoryKiB();
        hv.destroy(d.id());
        assertTrue(hv.lookup(d.id()).isEmpty());
        assertEquals(freeBefore + 4096, hv.info().freeMemoryKiB());
        assertThrows(HypervisorException.class, () -> hv.destroy(d.id()));
    }

    @Test
    void namesAreUniqueAndResolvable() {
        Domain a = hv.create(TestCores.workload("alpha", "idle").build());
        HypervisorException dup = assertThrows(HypervisorException.class, () -> hv.create(TestCores.workload("alpha", "idle").build()));
        assertTrue(dup.getMessage().contains("already exists"), dup.getMessage());
        assertThrows(HypervisorException.class, () -> hv.create(TestCores.workload("Domain-0", "idle").build()));
        assertThrows(HypervisorException.class, () -> hv.create(TestCores.workload("123", "idle").build()));
        assertThrows(HypervisorException.class, () -> hv.create(TestCores.workload("has space", "idle").build()));
        assertSame(a, hv.resolve("alpha"));
        assertSame(a, hv.resolve(Integer.toString(a.id())));
        HypervisorException none = assertThrows(HypervisorException.class, () -> hv.resolve("nosuch"));
        assertTrue(none.getMessage().contains("nosuch"));
        assertThrows(HypervisorException.class, () -> hv.pause(99));
        assertThrows(HypervisorException.class, () -> hv.vcpus(99));
        assertEquals(2, hv.list().size());
    }

    @Test
    void badWorkloadFailsCleanly() {
        long free = hv.info().freeMemoryKiB();
        HypervisorException e = assertThrows(HypervisorException.class, () -> hv.create(TestCores.workload("bad", "dance").build()));
        assertTrue(e.getMessage().contains("workload"), e.getMessage());
        assertEquals(free, hv.info().freeMemoryKiB());
        assertEquals(1, hv.list().size());
        assertFalse(hv.lookup("bad").isPresent());
    }

    @Test
    void startPausedStaysPaused() {
        Domain d = hv.create(TestCores.workload("p", "spin").startPaused(true).build());
        assertEquals(DomainState.PAUSED, d.state());
        sleep(30);
        assertEquals(0, d.cpuTimeNanos());
        hv.unpause(d.id());
        assertTrue(TestCores.await(() -> d.cpuTimeNanos() > 0, 5000));
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
