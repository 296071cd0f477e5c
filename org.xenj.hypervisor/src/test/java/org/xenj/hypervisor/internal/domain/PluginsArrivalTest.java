package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.testsupport.NullDeviceModel;
import org.xenj.hypervisor.internal.testsupport.ProbeGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.DeviceModel;

/** A domain whose builder or device model is missing is created paused and starts when it appears. */
class PluginsArrivalTest {

    private TestCores.Fixture fx;
    private HypervisorCore hv;

    @BeforeEach
    void start() {
        fx = TestCores.start(1);
        hv = fx.core();
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void aTypeNothingCanBuildIsRefusedNotLeftPaused() {
        int before = hv.list().size();
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> hv.create(DomainConfig.builder("pvh").type(DomainType.PVH).memoryMiB(4).build()));
        assertTrue(e.getMessage().contains("type pvh is not supported"), e.getMessage());
        assertEquals(before, hv.list().size(), "nothing was created");
    }

    @Test
    void hvmWaitsForItsBuilderAndADeviceModel() {
        Domain d = hv.create(DomainConfig.builder("hvm").type(DomainType.HVM).memoryMiB(4).build());
        assertEquals(DomainState.PAUSED, d.state());
        assertEquals(4096, d.memoryKiB(), "memory is reserved at once");
        assertTrue(hv.dmesg().stream().anyMatch(l -> l.contains("waiting for a HVM guest builder")), hv.dmesg().toString());
        HypervisorException e = assertThrows(HypervisorException.class, () -> hv.shutdown(d.id(), ShutdownReason.POWEROFF));
        assertTrue(e.getMessage().contains("not started"), e.getMessage());

        ProbeGuestBuilder hvmBuilder = new ProbeGuestBuilder(DomainType.HVM, 0, 0, 16);
        fx.plugins().addBuilder(hvmBuilder);
        TestCores.await(() -> false, 50);
        assertEquals(DomainState.PAUSED, d.state(), "still no device model");
        assertEquals(0, hvmBuilder.executors.size());

        fx.plugins().addDeviceModel(new NullDeviceModel());
        assertTrue(TestCores.await(() -> hvmBuilder.executors.size() == 1 && hvmBuilder.executors.get(0).runs() > 0, 5000),
                "built and started once both are there");
        assertTrue(TestCores.await(() -> d.state() == DomainState.RUNNING, 2000), d.state().toString());
    }

    @Test
    void aUserPauseSurvivesTheLateBuild() {
        Domain d = hv.create(DomainConfig.builder("pv").type(DomainType.PV).memoryMiB(2).startPaused(true).build());
        ProbeGuestBuilder pv = new ProbeGuestBuilder(DomainType.PV, 0, 0, 16);
        fx.plugins().addBuilder(pv);
        assertTrue(TestCores.await(() -> pv.executors.size() == 1, 5000));
        TestCores.await(() -> false, 30);
        assertEquals(DomainState.PAUSED, d.state());
        assertEquals(0, pv.executors.get(0).runs());
        hv.unpause(d.id());
        assertTrue(TestCores.await(() -> pv.executors.get(0).runs() > 0, 5000));
    }

}
