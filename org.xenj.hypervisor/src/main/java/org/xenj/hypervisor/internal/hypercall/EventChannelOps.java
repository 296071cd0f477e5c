package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.internal.evtchn.EventChannels;

/** event_channel_op: decodes the x86_32 argument structs and applies them to the caller's table. */
final class EventChannelOps {

    private EventChannelOps() {
    }

    private static int dom(HypercallContext c, int raw) {
        raw &= 0xffff;
        return raw == DOMID_SELF ? c.domain.domid : raw;
    }

    static int eventChannelOp(HypercallContext c, int cmd, int arg, int a3, int a4, int a5) {
        EventChannels t = c.domain.evtchn;
        GuestVirtualMemory m = c.memory;
        switch (cmd) {
            case EVTCHNOP_ALLOC_UNBOUND -> {
                m.checkWritable(arg, 8);
                if (!XenHypercalls.isSelf(c, m.read16(arg))) {
                    return -EPERM;
                }
                int port = t.allocUnbound(dom(c, m.read16(arg + 2)));
                if (port < 0) {
                    return port;
                }
                m.write32(arg + 4, port);
                return 0;
            }
            case EVTCHNOP_BIND_INTERDOMAIN -> {
                m.checkWritable(arg, 12);
                int port = t.bindInterdomain(dom(c, m.read16(arg)), m.read32(arg + 4));
                if (port < 0) {
                    return port;
                }
                m.write32(arg + 8, port);
                return 0;
            }
            case EVTCHNOP_BIND_VIRQ -> {
                m.checkWritable(arg, 12);
                int port = t.bindVirq(m.read32(arg), m.read32(arg + 4));
                if (port < 0) {
                    return port;
                }
                m.write32(arg + 8, port);
                return 0;
            }
            case EVTCHNOP_BIND_IPI -> {
                m.checkWritable(arg, 8);
                int port = t.bindIpi(m.read32(arg));
                if (port < 0) {
                    return port;
                }
                m.write32(arg + 4, port);
                return 0;
            }
            case EVTCHNOP_BIND_VCPU -> {
                return t.bindVcpu(m.read32(arg), m.read32(arg + 4));
            }
            case EVTCHNOP_CLOSE -> {
                return t.close(m.read32(arg));
            }
            case EVTCHNOP_SEND -> {
                return t.send(m.read32(arg));
            }
            case EVTCHNOP_UNMASK -> {
                return t.unmask(m.read32(arg));
            }
            case EVTCHNOP_STATUS -> {
                m.checkWritable(arg, 24);
                int d = dom(c, m.read16(arg));
                if (d != c.domain.domid && c.domain.domid != 0) {
                    return -EPERM;
                }
                EventChannels target = c.domain.host.evtchnHub.table(d);
                if (target == null) {
                    return -ESRCH;
                }
                int[] out = new int[4];
                int rc = target.status(m.read32(arg + 4), out);
                if (rc != 0) {
                    return rc;
                }
                m.write32(arg + 8, out[0]);
                m.write32(arg + 12, out[1]);
                if (out[0] == EVTCHNSTAT_UNBOUND || out[0] == EVTCHNSTAT_INTERDOMAIN) {
                    m.write16(arg + 16, out[2]);
                    m.write32(arg + 20, out[3]);
                } else {
                    m.write32(arg + 16, out[2]);
                    m.write32(arg + 20, 0);
                }
                return 0;
            }
            default -> {
                return -ENOSYS;
            }
        }
    }
}
