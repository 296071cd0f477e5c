package org.xenj.hypervisor.internal.evtchn;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.EEXIST;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EINVAL;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.ENOENT;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.ENOSPC;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.ESRCH;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHN_2L_PORTS;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_CLOSED;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_INTERDOMAIN;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_IPI;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_UNBOUND;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_VIRQ;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.NR_VIRQS;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.VIRQ_DEBUG;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.VIRQ_TIMER;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One domain's event channels (Xen's 2-level ABI: 1024 ports, port 0 reserved). Methods return
 * a port or 0 on success and Xen's negative errno otherwise, changing nothing on error.
 */
public final class EventChannels {

    /** Port state; the values are Xen's EVTCHNSTAT_* codes. Port 0 is reserved (never bound). */
    private final int[] state = new int[EVTCHN_2L_PORTS];
    private final int[] remoteDom = new int[EVTCHN_2L_PORTS];
    private final int[] remotePort = new int[EVTCHN_2L_PORTS];
    private final int[] notifyVcpu = new int[EVTCHN_2L_PORTS];
    private final int[] virqOf = new int[EVTCHN_2L_PORTS];
    /** [vcpu][virq] -> port, 0 = unbound. */
    private final int[][] virqPorts;

    private final EventChannelHub hub;
    private final int domid;
    private final int vcpus;
    private final EventDelivery delivery;

    EventChannels(EventChannelHub hub, int domid, int vcpus, EventDelivery delivery) {
        this.hub = hub;
        this.domid = domid;
        this.vcpus = vcpus;
        this.delivery = delivery;
        this.virqPorts = new int[vcpus][NR_VIRQS];
    }

    public int domid() {
        return domid;
    }

    public EventDelivery delivery() {
        return delivery;
    }

    private int freePort() {
        for (int p = 1; p < EVTCHN_2L_PORTS; p++) {
            if (state[p] == EVTCHNSTAT_CLOSED) {
                return p;
            }
        }
        return -ENOSPC;
    }

    private static boolean validPort(int port) {
        return port > 0 && port < EVTCHN_2L_PORTS;
    }

    /** EVTCHNOP_alloc_unbound: a port that {@code remote} may bind to. */
    public int allocUnbound(int remote) {
        synchronized (hub.lock) {
            if (hub.table(remote) == null) {
                return -ESRCH;
            }
            int p = freePort();
            if (p < 0) {
                return p;
            }
            state[p] = EVTCHNSTAT_UNBOUND;
            remoteDom[p] = remote;
            remotePort[p] = 0;
            notifyVcpu[p] = 0;
            delivery.clearPending(p);
            return p;
        }
    }

    /** EVTCHNOP_bind_interdomain: connects a new local port to {@code remote}'s unbound port. */
    public int bindInterdomain(int remote, int rport) {
        int local;
        synchronized (hub.lock) {
            EventChannels r = hub.table(remote);
            if (r == null) {
                return -ESRCH;
            }
            if (!validPort(rport)) {
                return -EINVAL;
            }
            if (r.state[rport] != EVTCHNSTAT_UNBOUND || r.remoteDom[rport] != domid) {
                return -EINVAL;
            }
            local = freePort();
            if (local < 0) {
                return local;
            }
            if (r == this && local == rport) {
                return -EINVAL;
            }
            state[local] = EVTCHNSTAT_INTERDOMAIN;
            remoteDom[local] = remote;
            remotePort[local] = rport;
            notifyVcpu[local] = 0;
            delivery.clearPending(local);
            r.state[rport] = EVTCHNSTAT_INTERDOMAIN;
            r.remotePort[rport] = local;
        }
        // As Xen does: an event sent to the unbound port may have been lost, so notify once.
        delivery.setPending(local, 0);
        return local;
    }

    /** EVTCHNOP_bind_virq. */
    public int bindVirq(int virq, int vcpu) {
        synchronized (hub.lock) {
            if (virq < 0 || virq >= NR_VIRQS) {
                return -EINVAL;
            }
            if (vcpu < 0 || vcpu >= vcpus) {
                return -ENOENT;
            }
            if (virq != VIRQ_TIMER && virq != VIRQ_DEBUG && vcpu != 0) {
                return -EINVAL; // global VIRQs bind on vCPU 0 only
            }
            if (virqPorts[vcpu][virq] != 0) {
                return -EEXIST;
            }
            int p = freePort();
            if (p < 0) {
                return p;
            }
            state[p] = EVTCHNSTAT_VIRQ;
            virqOf[p] = virq;
            notifyVcpu[p] = vcpu;
            virqPorts[vcpu][virq] = p;
            delivery.clearPending(p);
            return p;
        }
    }

    /** EVTCHNOP_bind_ipi. */
    public int bindIpi(int vcpu) {
        synchronized (hub.lock) {
            if (vcpu < 0 || vcpu >= vcpus) {
                return -ENOENT;
            }
            int p = freePort();
            if (p < 0) {
                return p;
            }
            state[p] = EVTCHNSTAT_IPI;
            notifyVcpu[p] = vcpu;
            delivery.clearPending(p);
            return p;
        }
    }

    /** EVTCHNOP_bind_vcpu: which vCPU a VIRQ-global or interdomain port notifies. */
    public int bindVcpu(int port, int vcpu) {
        synchronized (hub.lock) {
            if (!validPort(port) || state[port] == EVTCHNSTAT_CLOSED) {
                return -EINVAL;
            }
            if (vcpu < 0 || vcpu >= vcpus) {
                return -ENOENT;
            }
            if (state[port] == EVTCHNSTAT_VIRQ && virqOf[port] == VIRQ_TIMER || state[port] == EVTCHNSTAT_IPI) {
                return -EINVAL;
            }
            notifyVcpu[port] = vcpu;
            return 0;
        }
    }

    /** EVTCHNOP_close. The peer of an interdomain port falls back to unbound (to us). */
    public int close(int port) {
        synchronized (hub.lock) {
            if (!validPort(port) || state[port] == EVTCHNSTAT_CLOSED) {
                return -EINVAL;
            }
            closeLocked(port);
            return 0;
        }
    }

    private void closeLocked(int port) {
        switch (state[port]) {
            case EVTCHNSTAT_VIRQ -> virqPorts[notifyVcpu[port]][virqOf[port]] = 0;
            case EVTCHNSTAT_INTERDOMAIN -> {
                EventChannels r = hub.table(remoteDom[port]);
                int rp = remotePort[port];
                if (r != null && r.state[rp] == EVTCHNSTAT_INTERDOMAIN && r.remoteDom[rp] == domid
                        && r.remotePort[rp] == port) {
                    r.state[rp] = EVTCHNSTAT_UNBOUND;
                    r.remotePort[rp] = 0;
                }
            }
            default -> {
            }
        }
        state[port] = EVTCHNSTAT_CLOSED;
        remoteDom[port] = 0;
        remotePort[port] = 0;
        notifyVcpu[port] = 0;
        delivery.clearPending(port);
    }

    void closeAll() {
        synchronized (hub.lock) {
            for (int p = 1; p < EVTCHN_2L_PORTS; p++) {
                if (state[p] != EVTCHNSTAT_CLOSED) {
                    closeLocked(p);
                }
            }
        }
    }

    /** EVTCHNOP_send: notifies the peer of an interdomain port or our own vCPU of an IPI port. */
    public int send(int port) {
        EventDelivery target;
        int targetPort;
        int vcpu;
        synchronized (hub.lock) {
            if (!validPort(port)) {
                return -EINVAL;
            }
            switch (state[port]) {
                case EVTCHNSTAT_INTERDOMAIN -> {
                    EventChannels r = hub.table(remoteDom[port]);
                    if (r == null) {
                        return 0;
                    }
                    target = r.delivery;
                    targetPort = remotePort[port];
                    vcpu = r.notifyVcpu[targetPort];
                }
                case EVTCHNSTAT_IPI -> {
                    target = delivery;
                    targetPort = port;
                    vcpu = notifyVcpu[port];
                }
                case EVTCHNSTAT_UNBOUND -> {
                    return 0; // nobody listening yet: dropped, as Xen does
                }
                default -> {
                    return -EINVAL;
                }
            }
        }
        target.setPending(targetPort, vcpu);
        return 0;
    }

    /** Raises a VIRQ for {@code vcpu} if the guest bound it; returns whether it was bound. */
    public boolean sendVirq(int virq, int vcpu) {
        int port;
        synchronized (hub.lock) {
            if (vcpu < 0 || vcpu >= vcpus || virq < 0 || virq >= NR_VIRQS) {
                return false;
            }
            port = virqPorts[vcpu][virq];
        }
        if (port == 0) {
            return false;
        }
        delivery.setPending(port, vcpu);
        return true;
    }

    /** EVTCHNOP_unmask. */
    public int unmask(int port) {
        int vcpu;
        synchronized (hub.lock) {
            if (!validPort(port)) {
                return -EINVAL;
            }
            vcpu = notifyVcpu[port];
        }
        delivery.unmask(port, vcpu);
        return 0;
    }

    /**
     * EVTCHNOP_status into {@code out}: status, vcpu, then per status: unbound (dom), interdomain
     * (dom, port), virq (virq). Returns 0 or -EINVAL.
     */
    public int status(int port, int[] out) {
        synchronized (hub.lock) {
            if (port < 0 || port >= EVTCHN_2L_PORTS) {
                return -EINVAL;
            }
            Arrays.fill(out, 0);
            out[0] = port == 0 ? EVTCHNSTAT_CLOSED : state[port];
            out[1] = notifyVcpu[port];
            switch (out[0]) {
                case EVTCHNSTAT_UNBOUND -> out[2] = remoteDom[port];
                case EVTCHNSTAT_INTERDOMAIN -> {
                    out[2] = remoteDom[port];
                    out[3] = remotePort[port];
                }
                case EVTCHNSTAT_VIRQ -> out[2] = virqOf[port];
                default -> {
                }
            }
            return 0;
        }
    }

    /** Number of ports in use (for tests and the fuzz report). */
    public int openPorts() {
        synchronized (hub.lock) {
            int n = 0;
            for (int s : state) {
                n += s != EVTCHNSTAT_CLOSED ? 1 : 0;
            }
            return n;
        }
    }

    public int stateOf(int port) {
        synchronized (hub.lock) {
            return validPort(port) ? state[port] : EVTCHNSTAT_CLOSED;
        }
    }

    /** For {@code SCHEDOP_poll}: whether any of {@code ports} is pending. */
    public boolean anyPending(int[] ports, int n) {
        for (int i = 0; i < n; i++) {
            if (validPort(ports[i]) && delivery.isPending(ports[i])) {
                return true;
            }
        }
        return false;
    }

    /** Every open port, for save/restore (pending and mask bits are in the shared info page). */
    public EventChannelsState saveState() {
        synchronized (hub.lock) {
            List<EventChannelsState.Port> ports = new ArrayList<>();
            for (int p = 1; p < EVTCHN_2L_PORTS; p++) {
                switch (state[p]) {
                    case EVTCHNSTAT_CLOSED -> {
                    }
                    case EVTCHNSTAT_VIRQ -> ports.add(new EventChannelsState.Port(p, state[p], notifyVcpu[p], 0, 0, virqOf[p]));
                    case EVTCHNSTAT_IPI -> ports.add(new EventChannelsState.Port(p, state[p], notifyVcpu[p], 0, 0, 0));
                    default -> ports.add(new EventChannelsState.Port(p, state[p], notifyVcpu[p], remoteDom[p], remotePort[p], 0));
                }
            }
            return new EventChannelsState(vcpus, ports);
        }
    }

    /**
     * A PV restore into a freshly built domain: the saved table, except the ports in {@code keep},
     * which the builder bound again already (the console's and xenstore's, to Domain 0's new ends)
     * and which {@code s} must have bound to Domain 0 as well. Nothing is cleared in shared_info:
     * the restored page holds the saved pending and mask bits. An interdomain port to anyone else
     * is refused (IllegalArgumentException), as is a table for another number of vCPUs.
     */
    public void restoreKeeping(EventChannelsState s, int[] keep) {
        if (s.vcpus() != vcpus) {
            throw new IllegalArgumentException("event channel state of " + s.vcpus() + " vCPUs for a domain of " + vcpus);
        }
        java.util.BitSet kept = new java.util.BitSet();
        for (int k : keep) {
            kept.set(k);
        }
        synchronized (hub.lock) {
            for (int k : keep) {
                EventChannelsState.Port saved = s.ports().stream().filter(p -> p.port() == k).findFirst().orElse(null);
                if (saved == null || saved.status() != EVTCHNSTAT_INTERDOMAIN || saved.remoteDom() != 0
                        || state[k] != EVTCHNSTAT_INTERDOMAIN || remoteDom[k] != 0) {
                    throw new IllegalArgumentException("event channel port " + k + " (console or xenstore) is not bound to Domain 0"
                            + (saved == null ? " in the image" : " both in the image and here"));
                }
            }
            for (EventChannelsState.Port p : s.ports()) {
                if (!kept.get(p.port()) && p.status() == EVTCHNSTAT_INTERDOMAIN) {
                    throw new IllegalArgumentException("event channel port " + p.port() + " is bound to d" + p.remoteDom() + " port "
                            + p.remotePort() + ", which cannot be reconnected");
                }
            }
            for (int p = 1; p < EVTCHN_2L_PORTS; p++) {
                if (state[p] != EVTCHNSTAT_CLOSED && !kept.get(p)) {
                    closeLocked(p);
                }
            }
            for (EventChannelsState.Port p : s.ports()) {
                if (kept.get(p.port())) {
                    notifyVcpu[p.port()] = p.vcpu();
                } else {
                    putLocked(p);
                }
            }
        }
    }

    /**
     * Puts this table in {@code s} exactly (its ports closed first). Only this domain's side: an
     * interdomain port's peer is the peer's own state. Refused (IllegalArgumentException) for
     * another number of vCPUs.
     */
    public void restoreState(EventChannelsState s) {
        if (s.vcpus() != vcpus) {
            throw new IllegalArgumentException("event channel state of " + s.vcpus() + " vCPUs for a domain of " + vcpus);
        }
        synchronized (hub.lock) {
            closeAll();
            for (EventChannelsState.Port p : s.ports()) {
                putLocked(p);
            }
        }
    }

    /** One saved port's state back in its place (the hub's lock held). */
    private void putLocked(EventChannelsState.Port p) {
        int port = p.port();
        state[port] = p.status();
        notifyVcpu[port] = p.vcpu();
        remoteDom[port] = p.remoteDom();
        remotePort[port] = p.remotePort();
        virqOf[port] = p.virq();
        if (p.status() == EVTCHNSTAT_VIRQ) {
            virqPorts[p.vcpu()][p.virq()] = port;
        }
    }
}
