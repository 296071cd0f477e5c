package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.api.ShutdownReason;

/** console_io, sched_op, set_timer_op and vcpu_op. */
final class SchedAndTimeOps {

    /** Largest console write taken in one call (Xen also writes in bounded chunks). */
    private static final int CONSOLE_CHUNK = 4096;
    private static final int MAX_POLL_PORTS = 128;
    private static final int ETIME = 62;

    private SchedAndTimeOps() {
    }

    static int consoleIo(HypercallContext c, int cmd, int count, int buffer, int a4, int a5) {
        switch (cmd) {
            case CONSOLEIO_WRITE -> {
                if (count < 0 || count > CONSOLE_CHUNK * 16) {
                    return -EINVAL;
                }
                byte[] b = new byte[count];
                c.memory.read(buffer, b, 0, count);
                c.domain.guestLog.write(b, 0, count);
                return 0;
            }
            case CONSOLEIO_READ -> {
                return 0; // no input on Xen's own console for guests
            }
            default -> {
                return -ENOSYS;
            }
        }
    }

    static int schedOp(HypercallContext c, int cmd, int arg, int a3, int a4, int a5) {
        switch (cmd) {
            case SCHEDOP_YIELD -> {
                c.vcpu.yieldRequested = true;
                return 0;
            }
            case SCHEDOP_BLOCK -> {
                // Xen enables event delivery, then blocks unless something is already pending.
                c.domain.events.setUpcallMask(c.vcpu.id, false);
                if (!c.domain.events.upcallPending(c.vcpu.id)) {
                    c.vcpu.blockRequested = true;
                }
                return 0;
            }
            case SCHEDOP_SHUTDOWN -> {
                ShutdownReason r = ShutdownReason.ofCode(c.memory.read32(arg));
                if (r == null) {
                    return -EINVAL;
                }
                for (XenVcpu v : c.domain.vcpus) {
                    v.shutdownRequested = true;
                }
                if (r == ShutdownReason.SUSPEND && !c.domain.pv) {
                    // Xen's suspend protocol: the call returns when the toolstack resumes the domain
                    // (1, cancelled) or a restore starts the new one (0); the vCPU stops after it
                    c.domain.suspendVcpu = c.vcpu.id;
                }
                c.domain.context.requestShutdown(r);
                return 0;
            }
            case SCHEDOP_SHUTDOWN_CODE -> {
                return ShutdownReason.ofCode(c.memory.read32(arg)) == null ? -EINVAL : 0;
            }
            case SCHEDOP_POLL -> {
                return poll(c, arg);
            }
            case SCHEDOP_REMOTE_SHUTDOWN -> {
                int dom = c.memory.read16(arg);
                ShutdownReason r = ShutdownReason.ofCode(c.memory.read32(arg + 4));
                if (c.domain.domid != 0) {
                    return -EPERM;
                }
                XenDomain target = c.domain.host.domain(dom);
                if (target == null) {
                    return -ESRCH;
                }
                if (r == null) {
                    return -EINVAL;
                }
                target.context.requestShutdown(r);
                return 0;
            }
            default -> {
                return -ENOSYS;
            }
        }
    }

    private static int poll(HypercallContext c, int arg) {
        int portsPtr = c.memory.read32(arg);
        int n = c.memory.read32(arg + 4);
        long timeout = c.memory.read64(arg + 8);
        if (n < 0 || n > MAX_POLL_PORTS) {
            return -EINVAL;
        }
        int[] ports = new int[n];
        for (int i = 0; i < n; i++) {
            ports[i] = c.memory.read32(portsPtr + 4 * i);
            if (ports[i] < 0 || ports[i] >= EVTCHN_2L_PORTS) {
                return -EINVAL;
            }
        }
        if (c.domain.evtchn.anyPending(ports, n)) {
            return 0;
        }
        if (timeout != 0) {
            if (timeout <= c.domain.systemTime()) {
                return 0;
            }
            armTimer(c.domain, c.vcpu, timeout);
        }
        c.vcpu.blockRequested = true;
        return 0;
    }

    static int setTimerOp(HypercallContext c, int lo, int hi, int a3, int a4, int a5) {
        long deadline = (long) hi << 32 | lo & 0xffffffffL;
        if (deadline == 0) {
            cancelTimer(c.vcpu);
        } else {
            armTimer(c.domain, c.vcpu, deadline);
        }
        return 0;
    }

    /** Arms the single-shot timer: at {@code systemTime} VIRQ_TIMER goes to the vCPU (at once if past). */
    static void armTimer(XenDomain d, XenVcpu v, long systemTime) {
        cancelTimer(v);
        v.timerDeadline = systemTime;
        long hostDeadline = d.hostNanosOf(systemTime);
        v.timerHandle = d.context.schedule(hostDeadline, () -> {
            if (v.timerDeadline == systemTime) {
                v.timerDeadline = 0;
                d.updateTime(v.id);
                d.evtchn.sendVirq(VIRQ_TIMER, v.id);
                d.context.waker(v.id).wake();
            }
        });
    }

    static void cancelTimer(XenVcpu v) {
        v.timerDeadline = 0;
        if (v.timerHandle != null) {
            v.timerHandle.cancel();
            v.timerHandle = null;
        }
    }

    static int vcpuOp(HypercallContext c, int cmd, int vcpuId, int arg, int a4, int a5) {
        if (vcpuId < 0 || vcpuId >= c.domain.vcpus.length) {
            return -ENOENT;
        }
        XenVcpu v = c.domain.vcpus[vcpuId];
        switch (cmd) {
            case VCPUOP_IS_UP -> {
                return v.up ? 1 : 0;
            }
            case VCPUOP_INITIALISE -> {
                return VcpuContextOps.initialise(c, v, arg);
            }
            case VCPUOP_UP -> {
                return VcpuContextOps.up(c, v);
            }
            case VCPUOP_DOWN -> {
                return VcpuContextOps.down(c, v);
            }
            case VCPUOP_SET_SINGLESHOT_TIMER -> {
                long t = c.memory.read64(arg);
                int flags = c.memory.read32(arg + 8);
                if ((flags & VCPU_SSHOTTMR_FUTURE) != 0 && t < c.domain.systemTime()) {
                    return -ETIME;
                }
                armTimer(c.domain, v, t);
                return 0;
            }
            case VCPUOP_STOP_SINGLESHOT_TIMER -> {
                cancelTimer(v);
                return 0;
            }
            case VCPUOP_SET_PERIODIC_TIMER -> {
                long period = c.memory.read64(arg);
                if (period < 1_000_000) {
                    return -EINVAL; // Xen refuses periods under 1 ms
                }
                v.periodicNanos = period;
                return 0;
            }
            case VCPUOP_STOP_PERIODIC_TIMER -> {
                v.periodicNanos = 0;
                return 0;
            }
            case VCPUOP_REGISTER_VCPU_INFO -> {
                return VcpuInfoPlacement.register(c, vcpuId, arg);
            }
            default -> {
                return -ENOSYS;
            }
        }
    }
}
