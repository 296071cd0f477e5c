package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ProviderType;

/** The hypervisor's handle of one vCPU, as a scheduler sees it. */
@ProviderType
public interface SchedVCpu {

    int domid();

    int vcpuId();

    /** Dense index, unique among live vCPUs of the host, stable for the vCPU's life: key per-vCPU arrays by it. */
    int index();

    /** Whether hard affinity allows this vCPU on {@code pcpu}. */
    boolean canRunOn(int pcpu);

    /** The pCPU it last ran on, or -1. */
    int lastPcpu();

    /** The domain's weight (1..65535) as configured; schedulers that use weights start from it. */
    int weight();

    /** The domain's cap in percent of one pCPU, 0 = none. */
    int cap();
}
