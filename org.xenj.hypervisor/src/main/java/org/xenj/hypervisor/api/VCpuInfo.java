package org.xenj.hypervisor.api;

/** One row of {@code xl vcpu-list}. {@code pcpu} is -1 when the vCPU is not on a pCPU. */
public record VCpuInfo(int domid, String domainName, int vcpu, int pcpu, VCpuState state,
        long cpuTimeNanos, int[] hardAffinity) {
}
