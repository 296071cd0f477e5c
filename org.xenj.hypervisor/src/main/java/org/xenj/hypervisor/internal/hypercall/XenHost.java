package org.xenj.hypervisor.internal.hypercall;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.xenj.hypervisor.internal.evtchn.Dom0Events;
import org.xenj.hypervisor.internal.evtchn.EventChannelHub;
import org.xenj.hypervisor.internal.evtchn.EventChannels;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.gnttab.GrantFrames;
import org.xenj.hypervisor.internal.gnttab.GrantHostMapper;
import org.xenj.hypervisor.internal.gnttab.GrantHub;
import org.xenj.hypervisor.internal.gnttab.GrantTable;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.xenabi.XenAbi;
import org.xenj.hypervisor.internal.xenstore.XenStore;

/**
 * The Xen ABI of one hypervisor instance: the hypercall table, all domains' event channels and
 * grant tables, xenstore, and Domain 0's Java end of them (Dom0 has no guest memory: its
 * backends are Java code listening on Dom0 ports and mapping grants by handle).
 */
public final class XenHost {

    public final MachineMemory machine;
    public final EventChannelHub evtchnHub = new EventChannelHub();
    public final GrantHub grantHub;
    public final XenStore store = new XenStore();
    public final HypercallDispatcher dispatcher = new HypercallDispatcher();
    public final Dom0Events dom0Events = new Dom0Events(XenAbi.EVTCHN_2L_PORTS);
    public final EventChannels dom0Evtchn;
    public final GrantTable dom0Grants;
    private final Map<Integer, XenDomain> domains = new ConcurrentHashMap<>();
    private MachineToPhys m2p;

    public XenHost(MachineMemory machine) {
        this.machine = machine;
        this.grantHub = new GrantHub(machine);
        this.dom0Evtchn = evtchnHub.register(0, 1, dom0Events);
        this.dom0Grants = grantHub.register(0, new GrantFrames() {
            @Override
            public int allocateFrame() {
                return -1;
            }

            @Override
            public int ownFrameToMfn(int frame) {
                return -1;
            }

            @Override
            public int guestFrameOf(int mfn) {
                return mfn;
            }
        }, GrantHostMapper.NONE, 0);
        store.write(0, "/local/domain/0/name", "Domain-0");
        store.write(0, "/local/domain/0/domid", "0");
    }

    /**
     * The Xen host the core gave {@code context}; a context without a core (standalone runners,
     * tests) gets one of its own for this domain alone.
     */
    public static XenHost of(GuestContext context) {
        XenHost h = context.shared(XenHost.class);
        return h != null ? h : new XenHost(context.memory().machine());
    }

    /** Creates the Xen side of a guest domain (PV or HVM) with {@code vcpus} vCPUs. */
    public XenDomain createDomain(GuestContext context, boolean pv, int vcpus, long maxPages) {
        if (context.domid() == 0 || domains.containsKey(context.domid())) {
            throw new IllegalStateException("domain " + context.domid() + " already exists");
        }
        XenDomain d = new XenDomain(this, context, pv, vcpus, maxPages);
        domains.put(d.domid, d);
        return d;
    }

    public XenDomain domain(int domid) {
        return domains.get(domid);
    }

    /**
     * Tears a domain's Xen state down before the core frees its memory: timers stop, event
     * channels close (peers see unbound ports), grants are revoked, xenstore forgets it.
     */
    public void destroyDomain(int domid) {
        XenDomain d = domains.remove(domid);
        if (d == null) {
            return;
        }
        for (XenVcpu v : d.vcpus) {
            SchedAndTimeOps.cancelTimer(v);
        }
        if (d.pv && m2p != null) {
            // its frames go back to the pool: their M2P entries must not tell the next owner anything
            for (long g = 0; g < d.memory.gfnLimit(); g++) {
                int mfn = d.memory.mfn(g);
                if (mfn >= 0 && machine.owner(mfn) == domid) {
                    m2p.set(mfn, -1);
                }
            }
        }
        evtchnHub.unregister(domid);
        grantHub.unregister(domid);
        store.releaseDomain(domid);
        d.releaseSpecialFrames();
    }

    /** The shared M2P table, built when the first PV domain needs it. */
    public synchronized MachineToPhys m2p() {
        if (m2p == null) {
            m2p = new MachineToPhys(machine);
        }
        return m2p;
    }

}
