package org.xenj.sched.rr.internal;

import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;

/** Round-robin state of one vCPU; also the node of the pool's FIFO (intrusive, allocation-free). */
final class RrVCpu {

    final SchedVCpu vcpu;
    boolean runnable;
    boolean queued;
    int runningOn = -1;
    RrVCpu prev;
    RrVCpu next;

    private ScheduleDecision lastDecision;

    RrVCpu(SchedVCpu vcpu) {
        this.vcpu = vcpu;
    }

    /** Reuses the last decision while the slice is unchanged: no allocation per switch. */
    ScheduleDecision decision(long sliceNanos) {
        ScheduleDecision d = lastDecision;
        if (d == null || d.sliceNanos() != sliceNanos) {
            d = ScheduleDecision.run(vcpu, sliceNanos);
            lastDecision = d;
        }
        return d;
    }
}
