package org.xenj.sched.rr.internal;

import org.xenj.hypervisor.spi.SchedVCpu;

/** Round-robin state of one vCPU; also the node of the pool's FIFO (intrusive, allocation-free). */
final class RrVCpu {

    final SchedVCpu vcpu;
    boolean runnable;
    boolean queued;
    int runningOn = -1;
    RrVCpu prev;
    RrVCpu next;

    RrVCpu(SchedVCpu vcpu) {
        this.vcpu = vcpu;
    }
}
