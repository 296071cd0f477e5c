package org.xenj.itest.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.xenj.hypervisor.api.CpuPoolInfo;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.Hypervisor;

/**
 * The schedulers under the real hypervisor core: pCPU threads running WORKLOAD domains, scheduler
 * bundles stopped, started and updated underneath them, and CPU shares measured in wall time on
 * one pCPU of a pool of its own.
 */
class HypervisorSchedulingTest {

    private static final String POOL = "itest";
    private static final long TIMEOUT_MS = 10_000;

    private final BundleContext context = FrameworkUtil.getBundle(HypervisorSchedulingTest.class).getBundleContext();
    /** Waited for once per run: without a hypervisor core every test is skipped quickly. */
    private static boolean waitedForHypervisor;

    private final List<Integer> domains = new ArrayList<>();
    private Hypervisor hv;

    @BeforeEach
    void hypervisor() throws InterruptedException {
        long deadline = System.currentTimeMillis() + (waitedForHypervisor ? 0 : TIMEOUT_MS);
        waitedForHypervisor = true;
        ServiceReference<Hypervisor> ref = context.getServiceReference(Hypervisor.class);
        while (ref == null && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
            ref = context.getServiceReference(Hypervisor.class);
        }
        Assumptions.assumeTrue(ref != null, "no Hypervisor service in this framework");
        hv = context.getService(ref);
        for (String bsn : List.of("org.xenj.sched.credit", "org.xenj.sched.rr", "org.xenj.example.lottery")) {
            Bundle b = bundle(bsn);
            if (b.getState() != Bundle.ACTIVE) {
                try {
                    b.start();
                } catch (Exception e) {
                    throw new AssertionError("cannot start " + bsn, e);
                }
            }
        }
        Await.until("credit scheduler available", TIMEOUT_MS,
                () -> hv.info().availableSchedulers().contains("credit"));
    }

    @AfterEach
    void cleanUp() {
        if (hv == null) {
            return;
        }
        for (int domid : domains) {
            try {
                hv.destroy(domid);
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
        domains.clear();
        CpuPools pools = hv.cpupools();
        if (pools.list().stream().anyMatch(p -> p.name().equals(POOL))) {
            Await.until("pool " + POOL + " empty", TIMEOUT_MS,
                    () -> pools.list().stream().noneMatch(p -> p.name().equals(POOL) && p.domains() > 0));
            pools.destroy(POOL);
        }
    }

    /** A pool with the host's last pCPU, scheduled by {@code scheduler}. */
    private void onePcpuPool(String scheduler) {
        int pcpus = hv.info().nrPcpus();
        Assumptions.assumeTrue(pcpus >= 2, "needs 2 pCPUs to give one to a pool of its own, have " + pcpus);
        CpuPoolInfo pool = hv.cpupools().create(POOL, scheduler, new int[] {pcpus - 1});
        assertEquals(1, pool.pcpus().length);
    }

    private Domain spin(String name, int vcpus, int weight, int cap, String pool) {
        Domain d = hv.create(DomainConfig.builder(name).type(DomainType.WORKLOAD).workload("spin").memoryMiB(1)
                .vcpus(vcpus).cpuWeight(weight).cap(cap).pool(pool).build());
        domains.add(d.id());
        return d;
    }

    private long cpu(Domain d) {
        return hv.lookup(d.id()).orElseThrow(() -> new AssertionError(d.name() + " vanished")).cpuTimeNanos();
    }

    private long[] cpu(List<Domain> ds) {
        long[] t = new long[ds.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = cpu(ds.get(i));
        }
        return t;
    }

    private void assertAllProgress(List<Domain> ds, String when) {
        long[] before = cpu(ds);
        Await.until("every domain runs " + when, TIMEOUT_MS, () -> {
            long[] now = cpu(ds);
            for (int i = 0; i < now.length; i++) {
                if (now[i] <= before[i]) {
                    return false;
                }
            }
            return true;
        });
        for (Domain d : ds) {
            assertEquals(d.vcpus(), hv.vcpus(d.id()).size(), d.name() + " kept all its vCPUs " + when);
        }
    }

    private Bundle bundle(String bsn) {
        for (Bundle b : context.getBundles()) {
            if (bsn.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError(bsn + " not installed");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Test
    void weights256And512ShareOnePcpuOneToTwo() {
        onePcpuPool("credit");
        Domain light = spin("itest-w256", 1, 256, 0, POOL);
        Domain heavy = spin("itest-w512", 1, 512, 0, POOL);
        sleep(500);
        long[] start = cpu(List.of(light, heavy));
        sleep(4000);
        long[] end = cpu(List.of(light, heavy));
        double ratio = (double) (end[1] - start[1]) / (end[0] - start[0]);
        System.out.printf("itest credit on 1 pCPU thread, weights 256:512 over 4 s: %.3f s : %.3f s, ratio 1:%.3f%n",
                (end[0] - start[0]) / 1e9, (end[1] - start[1]) / 1e9, ratio);
        assertEquals(2.0, ratio, 2.0 * 0.05);
    }

    @Test
    void capOfFiftyPercentHoldsOnOnePcpu() {
        onePcpuPool("credit");
        Domain capped = spin("itest-cap50", 1, 256, 50, POOL);
        sleep(500);
        long start = cpu(capped);
        long t0 = System.nanoTime();
        sleep(3000);
        double share = (double) (cpu(capped) - start) / (System.nanoTime() - t0);
        System.out.printf("itest credit cap 50%% on 1 pCPU thread over 3 s: share %.4f%n", share);
        assertEquals(0.5, share, 0.5 * 0.05);
    }

    @Test
    void stoppingStartingAndUpdatingCreditHandsEveryVCpuOver() throws Exception {
        hv.cpupools().setScheduler(CpuPools.DEFAULT_POOL, "credit");
        List<Domain> ds = List.of(spin("itest-a", 2, 256, 0, CpuPools.DEFAULT_POOL),
                spin("itest-b", 1, 512, 0, CpuPools.DEFAULT_POOL), spin("itest-c", 1, 256, 0, CpuPools.DEFAULT_POOL));
        hv.cpupools().setDomainParams(ds.get(1).id(), Map.of("weight", "768"));
        assertAllProgress(ds, "before any swap");
        Bundle credit = bundle("org.xenj.sched.credit");
        for (int round = 0; round < 3; round++) {
            credit.stop();
            credit.start();
            Await.until("credit back", TIMEOUT_MS, () -> hv.info().availableSchedulers().contains("credit"));
            assertAllProgress(ds, "after credit stop/start #" + round);
        }
        credit.update();
        Await.until("credit back after update", TIMEOUT_MS, () -> hv.info().availableSchedulers().contains("credit"));
        assertAllProgress(ds, "after bundle update");
        assertEquals("768", hv.cpupools().domainParams(ds.get(1).id()).get("weight"), "parameters survive the swaps");

        for (String next : List.of("rr", "lottery", "credit")) {
            hv.cpupools().setScheduler(CpuPools.DEFAULT_POOL, next);
            assertAllProgress(ds, "after switching the pool to " + next);
        }
    }

    @Test
    void withoutAnySchedulerDomainsStayPausedAndResumeWhenOneAppears() throws Exception {
        List<Domain> ds = List.of(spin("itest-p1", 1, 256, 0, CpuPools.DEFAULT_POOL),
                spin("itest-p2", 2, 256, 0, CpuPools.DEFAULT_POOL));
        assertAllProgress(ds, "at start");
        List<Bundle> schedulers = List.of(bundle("org.xenj.sched.credit"), bundle("org.xenj.sched.rr"),
                bundle("org.xenj.example.lottery"));
        try {
            for (Bundle b : schedulers) {
                b.stop();
            }
            Await.until("no scheduler left", TIMEOUT_MS, () -> hv.info().availableSchedulers().isEmpty());
            sleep(200);
            long[] frozen = cpu(ds);
            sleep(500);
            long[] later = cpu(ds);
            for (int i = 0; i < frozen.length; i++) {
                assertEquals(frozen[i], later[i], ds.get(i).name() + " must not run without a scheduler");
            }
        } finally {
            for (Bundle b : schedulers) {
                b.start();
            }
        }
        assertAllProgress(ds, "once schedulers are back");
        assertTrue(hv.list().stream().map(Domain::id).toList().containsAll(ds.stream().map(Domain::id).toList()));
    }
}
