package org.xenj.hypervisor.api;

/** One row of {@code xl cpupool-list}. */
public record CpuPoolInfo(int id, String name, String scheduler, int[] pcpus, int domains) {
}
