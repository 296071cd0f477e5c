package org.xenj.hypervisor.api;

/** The vCPU states {@code xl vcpu-list} shows. */
public enum VCpuState {
    RUNNING, RUNNABLE, BLOCKED, PAUSED, OFFLINE
}
