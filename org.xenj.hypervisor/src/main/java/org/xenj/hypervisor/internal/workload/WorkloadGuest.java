package org.xenj.hypervisor.internal.workload;

import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;

/** A built WORKLOAD domain: one {@link WorkloadExecutor} per vCPU. */
public final class WorkloadGuest implements Guest {

    private final GuestContext context;
    private final WorkloadExecutor[] executors;

    WorkloadGuest(GuestContext context, WorkloadSpec spec) {
        this.context = context;
        this.executors = new WorkloadExecutor[context.config().vcpus()];
        for (int i = 0; i < executors.length; i++) {
            executors[i] = new WorkloadExecutor(spec, context, i);
        }
    }

    @Override
    public VCpuExecutor executor(int vcpu) {
        return executors[vcpu];
    }

    public WorkloadExecutor workload(int vcpu) {
        return executors[vcpu];
    }

    /** Sum of the vCPUs' work units. */
    public long workUnits() {
        long n = 0;
        for (WorkloadExecutor e : executors) {
            n += e.workUnits();
        }
        return n;
    }

    /** A workload "guest" obeys at once: it records the reason and its vCPUs stop. */
    @Override
    public boolean requestGuestShutdown(ShutdownReason reason) {
        context.requestShutdown(reason);
        for (WorkloadExecutor e : executors) {
            e.requestShutdown();
        }
        return true;
    }

    @Override
    public void destroy() {
        for (WorkloadExecutor e : executors) {
            e.cancelTimer();
        }
    }
}
