package org.xenj.sched.credit.internal;

import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;

/**
 * The credit scheduler's state of one vCPU. Plain fields, touched only under the pool's scheduling
 * lock. Doubles as the node of its pCPU's run queue (intrusive links, so queueing allocates nothing).
 */
final class CreditVCpu {

    final SchedVCpu vcpu;
    final CreditDomain domain;

    /** CPU time in nanoseconds it may still use; negative = in debt. Granted at accounting, burnt when it runs. */
    long credit;
    int priority = Priority.UNDER;

    /** May run now (not blocked, not paused) — as last told by insert/wake/sleep/schedule. */
    boolean runnable;
    /** Its domain used up its cap: kept off the run queues until the next accounting grants budget. */
    boolean parked;
    /** Ran since the last accounting: counts as active even if it blocked meanwhile. */
    boolean ranThisPeriod;

    /** pCPU it is running on, or -1. */
    int runningOn = -1;
    /** pCPU whose run queue holds it, or -1. */
    int queuedOn = -1;
    CreditVCpu queuePrev;
    CreditVCpu queueNext;

    /** The last decision made for it; reused when the slice is the same, so steady state allocates nothing. */
    private ScheduleDecision lastDecision;

    CreditVCpu(SchedVCpu vcpu, CreditDomain domain) {
        this.vcpu = vcpu;
        this.domain = domain;
    }

    boolean isQueued() {
        return queuedOn >= 0;
    }

    boolean isRunning() {
        return runningOn >= 0;
    }

    /** Counts for credit distribution at this accounting. */
    boolean isActive() {
        return runnable || ranThisPeriod;
    }

    ScheduleDecision decision(long sliceNanos) {
        ScheduleDecision d = lastDecision;
        if (d == null || d.sliceNanos() != sliceNanos) {
            d = ScheduleDecision.run(vcpu, sliceNanos);
            lastDecision = d;
        }
        return d;
    }

    /** Priority from the credit balance, keeping a boost it still has. */
    void refreshPriority() {
        if (priority != Priority.BOOST) {
            priority = credit >= 0 ? Priority.UNDER : Priority.OVER;
        }
    }

    @Override
    public String toString() {
        return "d" + vcpu.domid() + "v" + vcpu.vcpuId() + "[" + Priority.name(priority) + " credit=" + credit
                + (parked ? " parked" : "") + "]";
    }
}
