package org.xenj.hypervisor.internal.sched;

import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;

/**
 * How the scheduling core tells the domain layer about events seen on pCPU threads. Called with
 * a pool lock held: implementations only record and hand off to the control thread.
 */
public interface VCpuExitListener {

    /** The vCPU's executor returned SHUTDOWN or CRASH, or threw ({@code cause} then non-null). */
    void vcpuStopped(VCpu vcpu, RunExit exit, Throwable cause);

    /** The scheduler instance of {@code vcpu}'s pool threw while handling it. */
    void schedulerFailed(VCpu vcpu, Throwable cause);
}
