package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.testsupport.NullDeviceModel;
import org.xenj.hypervisor.internal.testsupport.ProbeGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/** {@code xen:info}'s xen_caps names exactly the guest types that can boot now: a builder each, and a device model for HVM. */
class XenCapsTest {

    @Test
    void capsFollowTheBuildersThatAreThere() {
        try (TestCores.Fixture fx = TestCores.start(1)) {
            assertEquals("", fx.core().info().xenCaps(), "no builder, no guest type");
            fx.plugins().addBuilder(new ProbeGuestBuilder(DomainType.PV, 0, 0, 1));
            assertEquals("xen-3.0-x86_32p", fx.core().info().xenCaps());
            fx.plugins().addBuilder(new ProbeGuestBuilder(DomainType.HVM, 0, 0, 1));
            assertEquals("xen-3.0-x86_32p", fx.core().info().xenCaps(), "HVM boots only with a device model");
            fx.plugins().addDeviceModel(new NullDeviceModel());
            assertEquals("xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p", fx.core().info().xenCaps());
            fx.plugins().addBuilder(new ProbeGuestBuilder(DomainType.PVH, 0, 0, 1));
            assertEquals("xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p pvh-3.0-x86_32", fx.core().info().xenCaps());
        }
    }
}
