package org.xenj.hypervisor.internal.builder;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;

/** vCPUs on the IA-32 CPU core, started in the state {@link LinuxDirectBoot} leaves. */
final class Ia32VCpuFactory implements HvmVCpuFactory {

    @Override
    public VCpuExecutor create(GuestContext context, int vcpu, CpuEnvironment environment, LinuxDirectBoot.EntryState entry) {
        throw new HypervisorException("the IA-32 CPU is not available in this build");
    }
}
