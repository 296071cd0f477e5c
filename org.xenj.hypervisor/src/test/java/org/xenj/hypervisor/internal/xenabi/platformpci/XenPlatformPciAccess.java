package org.xenj.hypervisor.internal.xenabi.platformpci;

import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

/** Test access to the platform device plugged into a platform. */
final class XenPlatformPciAccess {

    private XenPlatformPciAccess() {
    }

    static XenPlatformState state(HvmPlatformImpl platform) {
        return ((XenPlatformPci) platform.pciBus().deviceAt(platform.pciBus().functions().stream()
                .filter(s -> s.bdf() == XenPlatformPci.SLOT << 3).findFirst().orElseThrow())).state();
    }
}
