package org.xenj.hypervisor.internal.builder;

import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

/** Makes the executor that runs one vCPU of an HVM guest on the platform's environment. */
@FunctionalInterface
public interface HvmVCpuFactory {

    /**
     * {@code entry} is where vCPU 0 starts (32-bit protected mode, as {@link LinuxDirectBoot}
     * describes); application processors get {@code null} and wait for an INIT/SIPI.
     */
    VCpuExecutor create(GuestContext context, int vcpu, HvmPlatformImpl platform, LinuxDirectBoot.EntryState entry);
}
