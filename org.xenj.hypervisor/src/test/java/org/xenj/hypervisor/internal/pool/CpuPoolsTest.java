package org.xenj.hypervisor.internal.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.CpuPoolInfo;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.testsched.FairShareSchedulerType;
import org.xenj.hypervisor.internal.testsupport.TestCores;

class CpuPoolsTest {

    private TestCores.Fixture fx;
    private HypervisorCore hv;
    private CpuPools pools;

    @BeforeEach
    void start() {
        fx = TestCores.start(2);
        hv = fx.core();
        pools = hv.cpupools();
        fx.plugins().addScheduler(new FairShareSchedulerType("fair", fx.checker(), 1000));
    }

    @AfterEach
    void stop() {
        fx.close();
        assertEquals(0, fx.checker().violations(), () -> "protocol: " + fx.checker().first());
    }

    @Test
    void pool0HasEveryPCpuAtStart() {
        List<CpuPoolInfo> list = pools.list();
        assertEquals(1, list.size());
        assertEquals(CpuPools.DEFAULT_POOL, list.get(0).name());
        assertEquals("fifo", list.get(0).scheduler());
        assertArrayEquals(new int[] {0, 1}, list.get(0).pcpus());
    }

    @Test
    void createMigrateAndDestroy() {
        Domain a = hv.create(TestCores.workload("a", "spin").build());
        Domain b = hv.create(TestCores.workload("b", "spin").build());
        CpuPoolInfo p = pools.create("batch", "fair", new int[] {1});
        assertArrayEquals(new int[] {1}, p.pcpus());
        assertArrayEquals(new int[] {0}, pools.list().get(0).pcpus());
        assertEquals("fair", pools.list().get(1).scheduler());

        pools.migrate(b.id(), "batch");
        assertEquals("batch", b.pool());
        assertEquals(1, pools.list().get(1).domains());
        long tb = b.cpuTimeNanos();
        assertTrue(TestCores.await(() -> b.cpuTimeNanos() > tb + 10_000_000L, 5000), "runs in its new pool");
        for (int i = 0; i < 200; i++) {
            int on = hv.vcpus(b.id()).get(0).pcpu();
            assertTrue(on == -1 || on == 1, "b is in batch (pCPU 1), ran on " + on);
            int onA = hv.vcpus(a.id()).get(0).pcpu();
            assertTrue(onA == -1 || onA == 0, "a is in Pool-0 (pCPU 0), ran on " + onA);
            sleepMicros(200);
        }
        HypervisorException busy = assertThrows(HypervisorException.class, () -> pools.destroy("batch"));
        assertTrue(busy.getMessage().contains("still has 1 domain"), busy.getMessage());

        pools.migrate(b.id(), CpuPools.DEFAULT_POOL);
        pools.destroy("batch");
        assertEquals(1, pools.list().size());
        assertArrayEquals(new int[] {0, 1}, pools.list().get(0).pcpus());
        long ta = a.cpuTimeNanos();
        long tb2 = b.cpuTimeNanos();
        assertTrue(TestCores.await(() -> a.cpuTimeNanos() > ta + 5_000_000L && b.cpuTimeNanos() > tb2 + 5_000_000L, 5000));
    }

    @Test
    void domainsCanBeCreatedInAPool() {
        pools.create("p1", "fifo", new int[] {0});
        Domain d = hv.create(TestCores.workload("in", "spin").pool("p1").build());
        assertEquals("p1", d.pool());
        assertTrue(TestCores.await(() -> d.cpuTimeNanos() > 5_000_000L, 5000));
        assertTrue(TestCores.await(() -> hv.vcpus(d.id()).get(0).pcpu() == 0, 2000));
    }

    @Test
    void badPoolRequestsAreClearErrors() {
        assertThrows(HypervisorException.class, () -> pools.create("x", "fifo", new int[] {0, 1}), "Pool-0 keeps a pCPU");
        assertThrows(HypervisorException.class, () -> pools.create("x", "fifo", new int[] {7}));
        assertThrows(HypervisorException.class, () -> pools.create("x", "nosuch", new int[] {1}));
        assertThrows(HypervisorException.class, () -> pools.create("bad name", "fifo", new int[] {1}));
        assertThrows(HypervisorException.class, () -> pools.create(CpuPools.DEFAULT_POOL, "fifo", new int[] {1}));
        assertThrows(HypervisorException.class, () -> pools.destroy(CpuPools.DEFAULT_POOL));
        assertThrows(HypervisorException.class, () -> pools.destroy("nosuch"));
        assertThrows(HypervisorException.class, () -> pools.migrate(42, CpuPools.DEFAULT_POOL));
        assertThrows(HypervisorException.class, () -> pools.setScheduler("nosuch", "fifo"));
        HypervisorException e = assertThrows(HypervisorException.class, () -> pools.setScheduler(CpuPools.DEFAULT_POOL, "nosuch"));
        assertTrue(e.getMessage().contains("fifo") && e.getMessage().contains("fair"), "lists what is available: " + e.getMessage());
        assertThrows(HypervisorException.class, () -> hv.create(TestCores.workload("w", "idle").pool("nosuch").build()));
        assertEquals(1, pools.list().size());
        assertEquals(1, hv.list().size());
    }

    @Test
    void poolAndDomainParametersReachThePolicyAndSurviveASwap() {
        assertEquals("1000", pools.poolParams(CpuPools.DEFAULT_POOL).get("slice_us"));
        pools.setPoolParams(CpuPools.DEFAULT_POOL, Map.of("slice_us", "2000"));
        assertEquals("2000", pools.poolParams(CpuPools.DEFAULT_POOL).get("slice_us"));
        assertThrows(HypervisorException.class, () -> pools.setPoolParams(CpuPools.DEFAULT_POOL, Map.of("slice_us", "1")));

        Domain d = hv.create(TestCores.workload("w", "idle").cpuWeight(512).cap(50).build());
        Map<String, String> p = pools.domainParams(d.id());
        assertEquals("512", p.get("weight"));
        assertEquals("50", p.get("cap"));
        pools.setDomainParams(d.id(), Map.of("weight", "1024", "extra", "x"));
        assertEquals("1024", pools.domainParams(d.id()).get("weight"));
        assertEquals(1024, hv.schedOf(d.id()).vcpu(0).weight());
        assertThrows(HypervisorException.class, () -> pools.setDomainParams(d.id(), Map.of("weight", "0")));
        assertThrows(HypervisorException.class, () -> pools.setDomainParams(d.id(), Map.of("cap", "-1")));
        assertThrows(HypervisorException.class, () -> pools.setDomainParams(d.id(), Map.of("weight", "heavy")));

        pools.setScheduler(CpuPools.DEFAULT_POOL, "fair");
        pools.setScheduler(CpuPools.DEFAULT_POOL, "fifo");
        assertEquals("2000", pools.poolParams(CpuPools.DEFAULT_POOL).get("slice_us"), "fifo's pool parameters come back with it");
        assertEquals("x", pools.domainParams(d.id()).get("extra"), "domain parameters are replayed to the new instance");
        assertEquals("1024", pools.domainParams(d.id()).get("weight"));
    }

    private static void sleepMicros(long us) {
        try {
            Thread.sleep(0, (int) us * 1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
