package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.internal.xenabi.XenAbi;
import org.xenj.hypervisor.spi.hypercall.HypercallCall;
import org.xenj.hypervisor.spi.hypercall.HypercallExtension;

/**
 * Hypercall extensions reach the hypercall table of the core that owns the Xen state (no static
 * registry): one registered before the core starts and one after are both in its table, a leaving
 * one frees its number, and a clash with a built-in number is refused with a dmesg line.
 */
class HypercallExtensionPluginTest {

    private static HypercallExtension at(int nr) {
        return new HypercallExtension() {
            @Override
            public int number() {
                return nr;
            }

            @Override
            public int invoke(HypercallCall call) {
                return nr;
            }
        };
    }

    @Test
    void extensionsArriveInTheCoresTableAndLeaveIt() {
        Plugins early = new Plugins();
        HypercallExtension e48 = at(48);
        early.addExtension(e48);
        try (HypervisorCore core = new HypervisorCore(CoreConfig.parse("64M", 1, "8M", "credit"), early)) {
            var table = core.xen().dispatcher;
            assertFalse(table.addExtension(at(48)), "48 is taken by the extension bound before the core started");
            HypercallExtension e49 = at(49);
            early.addExtension(e49);
            assertFalse(table.addExtension(at(49)), "49 is taken by the extension bound later");
            early.removeExtension(e48);
            assertTrue(table.addExtension(at(48)), "48 is free again once its extension left");
            early.addExtension(at(XenAbi.HC_SCHED_OP));
            String dmesg = String.join("\n", core.dmesg());
            assertTrue(dmesg.contains("number " + XenAbi.HC_SCHED_OP + " is taken or out of range, ignored"), dmesg);
        }
        try (TestCores.Fixture other = TestCores.start(1)) {
            assertTrue(other.core().xen().dispatcher.addExtension(at(49)), "another core has a table of its own");
        }
    }
}
