package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class EventChannelHypercallTest {

    private final PvFixture f = new PvFixture();
    private final PvFixture.Dom a = f.pv(1);
    private final PvFixture.Dom b = f.pv(2);

    private int allocUnbound(PvFixture.Dom d, int remote) {
        int arg = d.scratch(1);
        d.hc.memory.write16(arg, DOMID_SELF);
        d.hc.memory.write16(arg + 2, remote);
        int rc = d.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_ALLOC_UNBOUND, arg);
        return rc == 0 ? d.hc.memory.read32(arg + 4) : rc;
    }

    private int bindInterdomain(PvFixture.Dom d, int remote, int port) {
        int arg = d.scratch(1);
        d.hc.memory.write16(arg, remote);
        d.hc.memory.write32(arg + 4, port);
        int rc = d.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_INTERDOMAIN, arg);
        return rc == 0 ? d.hc.memory.read32(arg + 8) : rc;
    }

    private int portOp(PvFixture.Dom d, int cmd, int port) {
        int arg = d.scratch(1);
        d.hc.memory.write32(arg, port);
        return d.call(HC_EVENT_CHANNEL_OP, cmd, arg);
    }

    @Test
    void interdomainSendSetsPendingAndUpcallInTheSharedInfoOfThePeer() {
        int pa = allocUnbound(a, 2);
        assertTrue(pa > 0);
        int pb = bindInterdomain(b, 1, pa);
        assertTrue(pb > 0);
        assertTrue(b.xen.events.isPending(pb), "bind notifies once, as Xen does");
        b.xen.events.clearPending(pb);
        a.xen.events.setUpcallMask(0, false);
        assertEquals(0, portOp(b, EVTCHNOP_SEND, pb));
        assertTrue(a.xen.events.isPending(pa));
        assertTrue(a.xen.events.upcallPending(0));
        assertTrue(a.xen.events.upcallDeliverable(0));
    }

    @Test
    void maskedPortIsPendingButRaisesNoUpcallUntilUnmasked() {
        int pa = allocUnbound(a, 2);
        int pb = bindInterdomain(b, 1, pa);
        int maskWord = a.xen.sharedInfoMfn << 12 | 2176 + 4 * (pa >>> 5);
        org.xenj.hypervisor.internal.mem.MachineFrames.write32(f.machine, maskWord, 1 << (pa & 31));
        assertEquals(0, portOp(b, EVTCHNOP_SEND, pb));
        assertTrue(a.xen.events.isPending(pa));
        assertFalse(a.xen.events.upcallPending(0));
        assertEquals(0, portOp(a, EVTCHNOP_UNMASK, pa));
        assertTrue(a.xen.events.upcallPending(0));
    }

    @Test
    void closeMakesThePeerUnboundAgainAndSendOnItIsDropped() {
        int pa = allocUnbound(a, 2);
        int pb = bindInterdomain(b, 1, pa);
        assertEquals(0, portOp(a, EVTCHNOP_CLOSE, pa));
        assertEquals(EVTCHNSTAT_UNBOUND, b.xen.evtchn.stateOf(pb));
        assertEquals(0, portOp(b, EVTCHNOP_SEND, pb));
        assertEquals(-EINVAL, portOp(a, EVTCHNOP_CLOSE, pa), "double close");
    }

    @Test
    void outOfRangeAndFreePortsAreRefused() {
        for (int port : new int[] {0, -1, 1024, 1 << 30, 77}) {
            assertEquals(-EINVAL, portOp(a, EVTCHNOP_SEND, port), "send " + port);
            assertEquals(-EINVAL, portOp(a, EVTCHNOP_CLOSE, port), "close " + port);
        }
        assertEquals(-EINVAL, portOp(a, EVTCHNOP_UNMASK, 1024));
    }

    @Test
    void bindingToAPortOfferedToAnotherDomainIsRefused() {
        int pa = allocUnbound(a, 0); // offered to Dom0, not to domain 2
        int before = b.xen.evtchn.openPorts();
        assertEquals(-EINVAL, bindInterdomain(b, 1, pa));
        assertEquals(-ESRCH, bindInterdomain(b, 99, 1), "no such domain");
        assertEquals(before, b.xen.evtchn.openPorts());
    }

    @Test
    void virqTimerFiresAfterSetTimerOpAndDoubleBindIsEexist() {
        int arg = a.scratch(1);
        a.hc.memory.write32(arg, VIRQ_TIMER);
        a.hc.memory.write32(arg + 4, 0);
        assertEquals(0, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VIRQ, arg));
        int port = a.hc.memory.read32(arg + 8);
        assertEquals(-EEXIST, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VIRQ, arg));
        a.hc.memory.write32(arg, NR_VIRQS);
        assertEquals(-EINVAL, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VIRQ, arg));
        a.hc.memory.write32(arg, VIRQ_TIMER);
        a.hc.memory.write32(arg + 4, 5);
        assertEquals(-ENOENT, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VIRQ, arg), "no vCPU 5");
        long when = a.xen.systemTime() + 1_000_000;
        assertEquals(0, a.call(HC_SET_TIMER_OP, (int) when, (int) (when >>> 32)));
        assertFalse(a.xen.events.isPending(port));
        a.ctx.runTimers();
        assertTrue(a.xen.events.isPending(port));
    }

    @Test
    void ipiAndStatus() {
        int arg = a.scratch(1);
        a.hc.memory.write32(arg, 0);
        assertEquals(0, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_IPI, arg));
        int ipi = a.hc.memory.read32(arg + 4);
        assertEquals(0, portOp(a, EVTCHNOP_SEND, ipi));
        assertTrue(a.xen.events.isPending(ipi));
        int st = a.scratch(2);
        a.hc.memory.write16(st, DOMID_SELF);
        a.hc.memory.write32(st + 4, ipi);
        assertEquals(0, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_STATUS, st));
        assertEquals(EVTCHNSTAT_IPI, a.hc.memory.read32(st + 8));
        a.hc.memory.write16(st, 2);
        assertEquals(-EPERM, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_STATUS, st), "status of another domain's port");
    }

    @Test
    void badPointersFaultAndAllocateNothing() {
        int before = a.xen.evtchn.openPorts();
        for (int ptr : new int[] {0, 0x1000, (int) 0xF5800000, a.boot.ptBaseVa()}) {
            assertEquals(-EFAULT, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_ALLOC_UNBOUND, ptr), "ptr " + Integer.toHexString(ptr));
            assertEquals(-EFAULT, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_IPI, ptr));
        }
        assertEquals(before, a.xen.evtchn.openPorts());
        assertEquals(-ENOSYS, a.call(HC_EVENT_CHANNEL_OP, 99, a.scratch(1)));
    }

    @Test
    void dom0JavaBackendReceivesEvents() {
        List<Integer> got = new ArrayList<>();
        int pa = allocUnbound(a, 0);
        int p0 = f.host.dom0Evtchn.bindInterdomain(1, pa);
        f.host.dom0Events.listen(p0, got::add);
        got.clear();
        assertEquals(0, portOp(a, EVTCHNOP_SEND, pa));
        assertEquals(List.of(p0), got);
    }

    @Test
    void destroyingADomainClosesItsChannelsForThePeer() {
        int pa = allocUnbound(a, 2);
        int pb = bindInterdomain(b, 1, pa);
        f.host.destroyDomain(1);
        assertEquals(EVTCHNSTAT_UNBOUND, b.xen.evtchn.stateOf(pb));
        assertEquals(0, portOp(b, EVTCHNOP_SEND, pb));
    }
}
