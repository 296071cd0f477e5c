package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Annotation;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.testsched.FifoSchedulerType;
import org.xenj.hypervisor.internal.testsched.ProtocolChecker;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.internal.workload.WorkloadGuestBuilder;

/** The DS wrapper as DS drives it: binds before activation, hot rebinding, deactivation. */
class HypervisorComponentTest {

    private static HypervisorComponent.Config config(String memory, int pcpus, String dom0, String sched) {
        return new HypervisorComponent.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return HypervisorComponent.Config.class;
            }

            @Override
            public String xenj_memory() {
                return memory;
            }

            @Override
            public int xenj_pcpus() {
                return pcpus;
            }

            @Override
            public String xenj_dom0_memory() {
                return dom0;
            }

            @Override
            public String xenj_scheduler() {
                return sched;
            }

            @Override
            public String xenj_migrate_secret() {
                return "";
            }

            @Override
            public boolean xenj_migrate_listen() {
                return false;
            }

            @Override
            public String xenj_migrate_bind() {
                return "127.0.0.1";
            }

            @Override
            public int xenj_migrate_port() {
                return 8002;
            }

            @Override
            public boolean xenj_migrate_tls() {
                return true;
            }

            @Override
            public String xenj_snapshot_dir() {
                return "";
            }
        };
    }

    @Test
    void bindsBeforeActivationAreKeptAndTheServiceWorks() {
        HypervisorComponent c = new HypervisorComponent();
        ProtocolChecker checker = new ProtocolChecker();
        FifoSchedulerType first = new FifoSchedulerType("fifo", checker, 1000);
        c.bindSchedulerType(first);
        c.bindGuestBuilder(new WorkloadGuestBuilder());
        assertThrows(HypervisorException.class, c::list, "not running before activation");
        c.activate(config("32M", 1, "4M", "fifo"));
        try {
            assertEquals(32 * 1024, c.info().totalMemoryKiB());
            assertEquals(1, c.info().nrPcpus());
            assertEquals("fifo", c.cpupools().list().get(0).scheduler());
            Domain d = c.create(TestCores.workload("w", "spin").build());
            assertTrue(TestCores.await(() -> d.cpuTimeNanos() > 1_000_000L, 5000));
            // bundle:update of the scheduler: new bound first, then old unbound
            FifoSchedulerType second = new FifoSchedulerType("fifo", checker, 1000);
            c.bindSchedulerType(second);
            c.unbindSchedulerType(first);
            assertEquals("fifo", c.cpupools().list().get(0).scheduler());
            long t = d.cpuTimeNanos();
            assertTrue(TestCores.await(() -> d.cpuTimeNanos() > t + 1_000_000L, 5000), "still runs after the update");
        } finally {
            c.deactivate();
        }
        assertThrows(HypervisorException.class, c::list);
        assertEquals(0, checker.violations(), checker::first);
    }

    @Test
    void badSettingsFailActivationClearly() {
        HypervisorComponent c = new HypervisorComponent();
        HypervisorException e = assertThrows(HypervisorException.class, () -> c.activate(config("lots", 1, "4M", "fifo")));
        assertTrue(e.getMessage().contains("lots"), e.getMessage());
        HypervisorException e2 = assertThrows(HypervisorException.class, () -> c.activate(config("16M", 1, "64M", "fifo")));
        assertTrue(e2.getMessage().contains("xenj.dom0.memory"), e2.getMessage());
    }
}
