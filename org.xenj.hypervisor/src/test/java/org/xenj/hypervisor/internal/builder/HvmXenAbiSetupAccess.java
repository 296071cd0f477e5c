package org.xenj.hypervisor.internal.builder;

import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.hypercall.HvmXenAbi;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

/** Lets tests of other packages attach Xen's ABI as the builder does. */
public final class HvmXenAbiSetupAccess {

    private HvmXenAbiSetupAccess() {
    }

    public static HvmXenAbi attach(GuestContext context, HvmPlatformImpl platform) {
        return HvmXenAbiSetup.attach(context, platform);
    }
}
