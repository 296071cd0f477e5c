package org.xenj.hypervisor.internal.evtchn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_INTERDOMAIN;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_UNBOUND;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHN_2L_PORTS;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.VIRQ_DEBUG;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.VIRQ_TIMER;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.platform.StateFuzz;

/**
 * {@link EventChannelsState}: a guest's table (VIRQs on two vCPUs, IPIs, an unbound port for
 * Domain 0, interdomain ports) round-trips through bytes and into a fresh host's table, where
 * every port reports the same status and the ports work on (sends, binds, closes); damaged
 * records are refused with the reason, thousands of mutated ones refused or restored exactly.
 */
class EventChannelsStateTest {

    /** Pending bits only; notifications are not the record's business. */
    static final class Bits implements EventDelivery {
        final BitSet pending = new BitSet();

        @Override public void setPending(int port, int vcpu) { pending.set(port); }
        @Override public void clearPending(int port) { pending.clear(port); }
        @Override public boolean isPending(int port) { return pending.get(port); }
        @Override public boolean isMasked(int port) { return false; }
        @Override public void unmask(int port, int vcpu) { }
    }

    static final class Host {
        final EventChannelHub hub = new EventChannelHub();
        final EventChannels dom0 = hub.register(0, 1, new Bits());
        final Bits guestBits = new Bits();
        final EventChannels guest = hub.register(1, 2, guestBits);
    }

    static Host running(SplittableRandom r) {
        Host h = new Host();
        assertTrue(h.guest.bindVirq(VIRQ_TIMER, 0) > 0);
        assertTrue(h.guest.bindVirq(VIRQ_TIMER, 1) > 0);
        assertTrue(h.guest.bindVirq(VIRQ_DEBUG, 1) > 0);
        assertTrue(h.guest.bindIpi(1) > 0);
        int unbound = h.guest.allocUnbound(0);
        int forBackend = h.guest.allocUnbound(0);
        assertTrue(h.dom0.bindInterdomain(1, forBackend) > 0);
        int loop = h.guest.allocUnbound(1);
        assertTrue(h.guest.bindInterdomain(1, loop) > 0, "a port to itself");
        assertEquals(0, h.guest.bindVcpu(forBackend, 1));
        for (int i = 0; i < r.nextInt(20); i++) {
            h.guest.bindIpi(r.nextInt(2));
        }
        h.guest.close(r.nextBoolean() ? unbound : h.guest.bindIpi(0)); // a hole in the port numbers
        return h;
    }

    static int[][] statuses(EventChannels t) {
        int[][] out = new int[EVTCHN_2L_PORTS][4];
        for (int p = 0; p < EVTCHN_2L_PORTS; p++) {
            t.status(p, out[p]);
        }
        return out;
    }

    @Test
    void aTableRoundTripsThroughBytesAndAFreshHostAndItsPortsWorkOn() throws IOException {
        Host a = running(new SplittableRandom(1));
        EventChannelsState s = a.guest.saveState();
        assertTrue(s.ports().size() >= 8, s.toString());
        assertEquals(s, EventChannelsState.fromBytes(s.toBytes()));
        Host b = new Host();
        b.guest.restoreState(EventChannelsState.fromBytes(s.toBytes()));
        b.dom0.restoreState(a.dom0.saveState());
        assertEquals(s, b.guest.saveState(), "the restored table holds exactly the record");
        assertArrayEquals(statuses(a.guest), statuses(b.guest), "EVTCHNOP_status answers the same for every port");
        // the ports work on: Domain 0 notifies the guest's backend port, the guest's loop port signals itself
        int dom0Port = b.dom0.saveState().ports().get(0).port();
        int guestPort = b.dom0.saveState().ports().get(0).remotePort();
        assertEquals(0, b.dom0.send(dom0Port));
        assertTrue(b.guestBits.isPending(guestPort));
        assertEquals(-17, b.guest.bindVirq(VIRQ_TIMER, 0), "VIRQ_TIMER of vCPU 0 is still bound (EEXIST)");
        assertEquals(0, b.guest.close(guestPort));
        assertEquals(EVTCHNSTAT_UNBOUND, b.dom0.stateOf(dom0Port), "closing one end unbinds the peer's");
        assertEquals(EVTCHNSTAT_INTERDOMAIN, a.dom0.stateOf(dom0Port), "the first host is untouched");
    }

    @Test
    void damagedRecordsAreRefusedWithTheReason() {
        byte[] good = running(new SplittableRandom(2)).guest.saveState().toBytes();
        byte[] magic = good.clone();
        magic[0] = 1;
        assertTrue(assertThrows(IOException.class, () -> EventChannelsState.fromBytes(magic)).getMessage().contains("not an event"));
        byte[] version = good.clone();
        version[7] = 4;
        assertTrue(assertThrows(IOException.class, () -> EventChannelsState.fromBytes(version)).getMessage().contains("version 4"));
        assertTrue(assertThrows(IOException.class, () -> EventChannelsState.fromBytes(Arrays.copyOf(good, good.length + 1)))
                .getMessage().contains("trailing"));
        assertThrows(IllegalArgumentException.class, () -> new EventChannelsState.Port(5, 4, 1, 0, 0, 3), "a global VIRQ on vCPU 1");
        assertThrows(IllegalArgumentException.class, () -> new EventChannelsState.Port(5, 2, 0, 0, 0, 0), "interdomain to port 0");
        assertThrows(IllegalArgumentException.class, () -> new EventChannelsState.Port(1024, 5, 0, 0, 0, 0), "port past the 2-level ABI");
        EventChannelsState.Port v = new EventChannelsState.Port(5, 4, 0, 0, 0, 0);
        assertThrows(IllegalArgumentException.class, () -> new EventChannelsState(1, List.of(v,
                new EventChannelsState.Port(6, 4, 0, 0, 0, 0))), "one VIRQ bound twice");
        assertThrows(IllegalArgumentException.class, () -> new EventChannelsState(1, List.of(new EventChannelsState.Port(5, 5, 1, 0,
                0, 0))), "an IPI to a vCPU the domain lacks");
        EventChannelsState two = new EventChannelsState(2, List.of(v));
        assertThrows(IllegalArgumentException.class, () -> new Host().dom0.restoreState(two), "2 vCPUs into a 1-vCPU table");
    }

    @Test
    void mutatedRecordsAreRefusedOrRestoredExactly() {
        List<byte[]> goods = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            goods.add(running(new SplittableRandom(100 + i)).guest.saveState().toBytes());
        }
        StateFuzz.run("event channels", 0xe7c, 10_000, goods, EventChannelsState::fromBytes, (s, r) -> {
            Host b = new Host();
            EventChannels t = s.vcpus() == 2 ? b.guest : b.hub.register(7, s.vcpus(), new Bits());
            t.restoreState(s);
            assertEquals(s, t.saveState(), "the restored table holds exactly the record");
            for (int i = 0; i < 20; i++) {
                int p = r.nextInt(EVTCHN_2L_PORTS);
                switch (r.nextInt(4)) {
                    case 0 -> t.send(p);
                    case 1 -> t.close(p);
                    case 2 -> t.bindIpi(r.nextInt(s.vcpus()));
                    default -> t.unmask(p);
                }
            }
        });
    }
}
