package org.xenj.hypervisor.internal.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.testsched.FairShareSchedulerType;
import org.xenj.hypervisor.internal.testsched.FifoSchedulerType;
import org.xenj.hypervisor.internal.testsupport.ProbeExecutor;
import org.xenj.hypervisor.internal.testsupport.ProbeGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/**
 * Everything at once: scheduler swaps, domains created and destroyed, paused and unpaused,
 * moved between pools, pinned, pools created and destroyed under them — from several threads while vCPUs run and block. Afterwards:
 * no vCPU ran twice at once, the policies saw a clean protocol, every surviving domain runs,
 * and every frame is accounted for.
 */
class ChaosTest {

    @Test
    void concurrentManagementKeepsTheInvariants() throws Exception {
        long doubleBefore = ProbeExecutor.DOUBLE_RUNS.get();
        try (TestCores.Fixture fx = TestCores.start(3)) {
            HypervisorCore hv = fx.core();
            fx.plugins().addScheduler(new FairShareSchedulerType("fair", fx.checker(), 300));
            ProbeGuestBuilder probes = new ProbeGuestBuilder(DomainType.PV, 4, 200_000, 4096);
            fx.plugins().addBuilder(probes);
            hv.cpupools().create("side", "fair", new int[] {1});
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            threads.add(actor("swapper", stop, failures, r -> {
                hv.cpupools().setScheduler(r.nextBoolean() ? CpuPools.DEFAULT_POOL : "side", r.nextBoolean() ? "fifo" : "fair");
            }));
            threads.add(actor("lifecycle", stop, failures, r -> {
                String name = "c" + r.nextInt(6);
                var d = hv.lookup(name);
                if (d.isPresent()) {
                    hv.destroy(d.get().id());
                } else {
                    hv.create(DomainConfig.builder(name).type(DomainType.PV).memoryMiB(1).vcpus(1 + r.nextInt(2))
                            .pool(r.nextBoolean() ? CpuPools.DEFAULT_POOL : "side").build());
                }
            }));
            threads.add(actor("operator", stop, failures, r -> {
                List<Domain> ds = hv.list();
                Domain d = ds.get(r.nextInt(ds.size()));
                if (d.id() == 0) {
                    return;
                }
                switch (r.nextInt(4)) {
                    case 0 -> hv.pause(d.id());
                    case 1 -> hv.unpause(d.id());
                    case 2 -> hv.cpupools().migrate(d.id(), new String[] {CpuPools.DEFAULT_POOL, "side", "extra"}[r.nextInt(3)]);
                    default -> hv.pinVCpu(d.id(), 0, r.nextBoolean() ? new int[0] : new int[] {r.nextInt(3)});
                }
            }));
            threads.add(actor("pools", stop, failures, r -> {
                boolean exists = hv.cpupools().list().stream().anyMatch(p -> p.name().equals("extra"));
                if (!exists) {
                    hv.cpupools().create("extra", r.nextBoolean() ? "fifo" : "fair", new int[] {2});
                } else {
                    for (Domain d : hv.list()) {
                        if (d.id() != 0 && "extra".equals(d.pool())) {
                            hv.cpupools().migrate(d.id(), CpuPools.DEFAULT_POOL);
                        }
                    }
                    hv.cpupools().destroy("extra");
                }
                Thread.sleep(2);
            }));
            java.util.concurrent.atomic.AtomicReference<FifoSchedulerType> fifo = new java.util.concurrent.atomic.AtomicReference<>(
                    (FifoSchedulerType) hv.scheduling().pcpu(0).pool().type());
            threads.add(actor("bundles", stop, failures, r -> {
                // a scheduler bundle updated: the new service comes, then the old one goes
                FifoSchedulerType fresh = new FifoSchedulerType("fifo", fx.checker(), 1000);
                fx.plugins().addScheduler(fresh);
                fx.plugins().removeScheduler(fifo.getAndSet(fresh));
                Thread.sleep(3);
            }));
            for (Thread t : threads) {
                t.start();
            }
            Thread.sleep(1500);
            stop.set(true);
            for (Thread t : threads) {
                t.join(10_000);
            }
            assertTrue(failures.isEmpty(), () -> "unexpected failure: " + failures.peek());

            // every surviving domain runs once unpaused and unpinned
            List<Domain> alive = new ArrayList<>();
            for (Domain d : hv.list()) {
                if (d.id() != 0) {
                    hv.unpause(d.id());
                    for (int v = 0; v < d.vcpus(); v++) {
                        hv.pinVCpu(d.id(), v, new int[0]);
                    }
                    alive.add(d);
                }
            }
            for (Domain d : alive) {
                long t = d.cpuTimeNanos();
                assertTrue(TestCores.await(() -> d.cpuTimeNanos() > t, 10_000), d + " runs after the storm");
            }
            assertEquals(0, ProbeExecutor.DOUBLE_RUNS.get() - doubleBefore, "no vCPU ran twice at once");
            assertEquals(0, fx.checker().violations(), () -> "protocol: " + fx.checker().first());
            long domKiB = alive.stream().mapToLong(Domain::memoryKiB).sum() + hv.lookup(0).orElseThrow().memoryKiB();
            assertEquals(hv.info().totalMemoryKiB() - domKiB, hv.info().freeMemoryKiB(), "every frame accounted for");
            assertTrue(hv.dmesg().stream().noneMatch(l -> l.contains("internal error") || l.contains("failed on")),
                    () -> String.join("\n", hv.dmesg()));
        }
    }

    interface Step {
        void run(Random r) throws Exception;
    }

    private static Thread actor(String name, AtomicBoolean stop, ConcurrentLinkedQueue<Throwable> failures, Step step) {
        Thread t = new Thread(() -> {
            Random r = new Random(name.hashCode());
            while (!stop.get()) {
                try {
                    step.run(r);
                } catch (HypervisorException expected) {
                    // refused operations (e.g. pausing a domain being destroyed) are fine
                } catch (Throwable e) {
                    failures.add(e);
                    return;
                }
                Thread.onSpinWait();
            }
        }, "chaos-" + name);
        t.setDaemon(true);
        return t;
    }
}
