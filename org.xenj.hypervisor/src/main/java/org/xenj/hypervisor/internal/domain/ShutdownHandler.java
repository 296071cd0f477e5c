package org.xenj.hypervisor.internal.domain;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.sched.VCpu;
import org.xenj.hypervisor.internal.sched.VCpuExitListener;

/**
 * A domain that stops running (guest shutdown, a vCPU crash, a scheduler failing on it) is
 * stopped at once, wherever the news comes from (pCPU threads, device threads), and the
 * on_poweroff / on_reboot / on_crash action then runs on the control thread.
 */
final class ShutdownHandler implements VCpuExitListener {

    private final HypervisorCore core;

    ShutdownHandler(HypervisorCore core) {
        this.core = core;
    }

    @Override
    public void vcpuStopped(VCpu vcpu, RunExit exit, Throwable cause) {
        DomainImpl d = core.domain(vcpu.domid());
        if (d == null) {
            return;
        }
        ShutdownReason reason;
        if (exit == RunExit.CRASH) {
            reason = ShutdownReason.CRASH;
            core.log("d" + d.id + " vcpu" + vcpu.vcpuId() + " crashed" + (cause == null ? "" : ": " + describe(cause)));
        } else {
            ShutdownReason recorded = d.shutdownReason;
            reason = recorded != null ? recorded : ShutdownReason.POWEROFF;
        }
        shutdownRequested(d, reason, null);
    }

    @Override
    public void schedulerFailed(VCpu vcpu, Throwable cause) {
        DomainImpl d = core.domain(vcpu.domid());
        if (d != null) {
            core.log("d" + d.id + " crashed by its scheduler: " + describe(cause));
            shutdownRequested(d, ShutdownReason.CRASH, null);
        }
    }

    private static String describe(Throwable t) {
        StackTraceElement[] st = t.getStackTrace();
        return t + (st.length > 0 ? " at " + st[0] : "");
    }

    /** Records the first reason, stops the domain's vCPUs, and queues the action. Never blocks. */
    void shutdownRequested(DomainImpl d, ShutdownReason reason, Throwable cause) {
        synchronized (d) {
            if (d.shutdownReason != null || d.phase != DomainImpl.Phase.LIVE) {
                return;
            }
            d.shutdownReason = reason;
        }
        if (cause != null) {
            core.log("d" + d.id + ": " + describe(cause));
        }
        d.sched.pool().setActive(d.sched, false);
        core.onControl(() -> act(d, reason));
    }

    /** Control thread: mark the domain shut down or crashed and carry out its configured action. */
    private void act(DomainImpl d, ShutdownReason reason) {
        // as Xen, the domain is shut down once none of its vCPUs is still on a pCPU
        core.awaitQuiescent(d);
        DomainState before;
        synchronized (core) {
            if (d.phase != DomainImpl.Phase.LIVE) {
                return;
            }
            before = d.state();
            d.phase = reason == ShutdownReason.CRASH ? DomainImpl.Phase.CRASHED : DomainImpl.Phase.SHUTDOWN;
        }
        core.fire(l -> l.stateChanged(d, before));
        if (reason == ShutdownReason.SUSPEND && !d.suspendWanted) {
            // nobody is saving it (a guest suspending unasked, or a second time): Xen would leave it
            // suspended for ever; the guest is better served by a cancelled suspend
            if (core.suspend.resumeCancelled(d, "it suspended itself without a request")) {
                return;
            }
        }
        ShutdownAction action = actionFor(d.config, reason);
        core.log("d" + d.id + " (" + d.name + ") " + (reason == ShutdownReason.CRASH ? "crashed" : "shut down (" + reason.name().toLowerCase() + ")")
                + ", action " + action.xlName());
        try {
            switch (action) {
                case DESTROY, COREDUMP_DESTROY -> core.destroy(d.id);
                case RESTART, COREDUMP_RESTART, SOFT_RESET -> restart(d, false);
                case RENAME_RESTART -> restart(d, true);
                case PRESERVE -> {
                    // stays as it is, memory kept, until destroyed by hand
                }
            }
        } catch (HypervisorException e) {
            core.log("d" + d.id + " (" + d.name + "): action " + action.xlName() + " failed: " + e.getMessage());
        }
    }

    static ShutdownAction actionFor(DomainConfig c, ShutdownReason reason) {
        return switch (reason) {
            case POWEROFF -> c.onPoweroff();
            case REBOOT -> c.onReboot();
            case CRASH, WATCHDOG -> c.onCrash();
            case SUSPEND -> ShutdownAction.PRESERVE;
            case SOFT_RESET -> ShutdownAction.SOFT_RESET;
        };
    }

    private void restart(DomainImpl d, boolean rename) {
        DomainConfig config = d.config;
        if (rename) {
            core.rename(d, d.name + "-" + d.id);
        } else {
            core.destroy(d.id);
        }
        DomainImpl fresh = core.createDomain(config, d.uuid, false);
        core.log("d" + d.id + " restarted as d" + fresh.id + " (" + fresh.name + ")");
    }
}
