package org.xenj.example.lottery;

import org.xenj.hypervisor.spi.SchedVCpu;

/** Lottery state of one vCPU. */
final class LotteryVCpu {

    final SchedVCpu vcpu;
    boolean runnable;
    int runningOn = -1;
    /** Position in the draw (the list of runnable vCPUs that are not running), or -1. */
    int slot = -1;

    LotteryVCpu(SchedVCpu vcpu) {
        this.vcpu = vcpu;
    }
}
