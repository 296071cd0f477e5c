package org.xenj.hypervisor.internal.backend;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.pv.PvFixture;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendInstance;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;
import org.xenj.hypervisor.spi.backend.RingProtocolException;
import org.xenj.hypervisor.spi.backend.SharedRing;
import org.xenj.hypervisor.spi.backend.XenbusState;

/**
 * Backends attached by {@link BackendHost} to real PV domains (start-of-day layout, grant tables
 * and event channels of the hypervisor): where their code runs, what grants they may touch,
 * xenstore watches, and what happens when one throws. The test thread plays the guest's vCPU.
 */
class BackendHostTest {

    private static final String KIND = "testdev";
    private final PvFixture f = new PvFixture();
    private final List<String> dmesg = new CopyOnWriteArrayList<>();
    private final BackendHost backends = new BackendHost(f.host, dmesg::add);

    @AfterEach
    void tearDown() {
        backends.close();
    }

    /** A backend whose attach is given by the test; it records its contexts. */
    private static final class TestBackend implements Backend {
        final Function<BackendContext, BackendInstance> onAttach;
        final BlockingQueue<BackendContext> contexts = new ArrayBlockingQueue<>(16);

        TestBackend(Function<BackendContext, BackendInstance> onAttach) {
            this.onAttach = onAttach;
        }

        @Override
        public BackendInstance attach(BackendContext context) {
            contexts.add(context);
            return onAttach.apply(context);
        }
    }

    private static DomainConfig config(int domid) {
        return DomainConfig.builder("test" + domid).type(DomainType.PV).raw(Map.of(BackendKinds.KEY, "[\"" + KIND + "\"]")).build();
    }

    private BackendContext attached(TestBackend b, int domid) throws InterruptedException {
        backends.addBackend(b, KIND);
        backends.domainBuilt(domid, config(domid));
        BackendContext c = b.contexts.poll(5, TimeUnit.SECONDS);
        assertNotNull(c, "attached to d" + domid + ": " + dmesg);
        assertEquals(domid, c.frontendDomid());
        return c;
    }

    private static <T> T onExecutor(BackendContext c, java.util.concurrent.Callable<T> task) throws Exception {
        BlockingQueue<Object> out = new ArrayBlockingQueue<>(1);
        c.executor().execute(() -> {
            try {
                out.add(task.call());
            } catch (Exception e) {
                out.add(e);
            }
        });
        Object o = out.poll(5, TimeUnit.SECONDS);
        if (o instanceof Exception e) {
            throw e;
        }
        @SuppressWarnings("unchecked")
        T t = (T) o;
        return t;
    }

    // ------------------------------------------------------------------ guest-side helpers

    /** Sets up one grant-table frame of {@code d} and maps it at scratch page 8; returns its va. */
    private static int grantTable(PvFixture.Dom d) {
        int op = d.scratch(1);
        int list = d.scratch(2);
        d.hc.memory.write16(op, DOMID_SELF);
        d.hc.memory.write32(op + 4, 1);
        d.hc.memory.write32(op + 12, list);
        assertEquals(0, d.call(HC_GRANT_TABLE_OP, GNTTABOP_SETUP_TABLE, op, 1, 0, 0));
        int frame = d.hc.memory.read32(list);
        int va = d.scratch(8);
        assertEquals(0, d.call(HC_UPDATE_VA_MAPPING, va, (int) ((long) frame << 12 | 0x67), 0, UVMF_INVLPG, 0));
        return va;
    }

    private static void grant(PvFixture.Dom d, int tableVa, int ref, int toDom, int va, boolean readonly) {
        int e = tableVa + 8 * ref;
        d.hc.memory.write16(e + 2, toDom);
        d.hc.memory.write32(e + 4, d.mfnOfVa(va));
        d.hc.memory.write16(e, GTF_PERMIT_ACCESS | (readonly ? GTF_READONLY : 0));
    }

    // ------------------------------------------------------------------ tests

    @Test
    void eventsFromTheGuestAreDeliveredOnTheBackendsExecutorNeverTheSendersThread() throws Exception {
        PvFixture.Dom a = f.pv(1);
        int guestPort = a.xen.evtchn.allocUnbound(0);
        BlockingQueue<Thread> deliveredOn = new ArrayBlockingQueue<>(4096);
        TestBackend b = new TestBackend(c -> () -> { });
        BackendContext c = attached(b, 1);
        EventChannel ch = onExecutor(c, () -> c.bindInterdomain(guestPort, () -> deliveredOn.add(Thread.currentThread())));
        Thread first = deliveredOn.poll(5, TimeUnit.SECONDS); // Xen's notify-once after a bind
        assertNotNull(first);
        Thread executor = backends.sessionThread(1, KIND);
        assertSame(executor, first);
        assertEquals("xenj-backend-" + KIND + "-d1", executor.getName());
        assertEquals(guestPort, ch.remotePort());
        // the guest's EVTCHNOP_send, on this (the "vCPU") thread
        assertEquals(0, a.xen.evtchn.send(guestPort));
        Thread second = deliveredOn.poll(5, TimeUnit.SECONDS);
        assertSame(executor, second);
        assertNotSame(Thread.currentThread(), second);
        // a burst folds into few deliveries, all on the executor
        for (int i = 0; i < 1000; i++) {
            a.xen.evtchn.send(guestPort);
        }
        Thread.sleep(100);
        assertTrue(deliveredOn.size() >= 1 && deliveredOn.size() <= 1000, "deliveries: " + deliveredOn.size());
        for (Thread t : deliveredOn) {
            assertSame(executor, t);
        }
        // and the backend's notify reaches the guest's port
        a.xen.events.clearPending(guestPort);
        ch.notifyRemote();
        assertTrue(a.xen.events.isPending(guestPort), "guest port pending after notify; " + dmesg + " dom0 port state "
                + f.host.dom0Evtchn.stateOf(ch.localPort()));
        ch.close();
        assertEquals(EVTCHNSTAT_UNBOUND, a.xen.evtchn.stateOf(guestPort), "closing Dom0's end unbinds the guest's");
    }

    @Test
    void xenstoreWatchFiresOnTheExecutorWithTheChangedPathAndXenbusStates() throws Exception {
        f.pv(1);
        BlockingQueue<String> seen = new ArrayBlockingQueue<>(64);
        BlockingQueue<Thread> threads = new ArrayBlockingQueue<>(64);
        String dev = "/local/domain/1/device/" + KIND + "/0";
        TestBackend b = new TestBackend(c -> {
            BackendStore.Watch w = c.store().watch(dev, p -> {
                seen.add(p);
                threads.add(Thread.currentThread());
            });
            return w::cancel;
        });
        BackendContext c = attached(b, 1);
        assertEquals(dev, seen.poll(5, TimeUnit.SECONDS), "a new watch fires once");
        // the frontend (domain 1, its own permissions) publishes its state below the watched node
        f.host.store.write(1, dev + "/state", Integer.toString(XenbusState.INITIALISED.value()));
        assertEquals(dev + "/state", seen.poll(5, TimeUnit.SECONDS));
        for (Thread t : threads) {
            assertSame(backends.sessionThread(1, KIND), t);
        }
        assertEquals(XenbusState.INITIALISED, c.store().readState(dev + "/state"));
        // the backend answers in its own directory with Dom0's rights, readable by the frontend
        String be = c.backendPath() + "/0";
        assertEquals("/local/domain/0/backend/" + KIND + "/1/0", be);
        c.store().mkdir(be);
        c.store().setPermissions(be, List.of("n0", "r1")); // children created later inherit it
        c.store().writeState(be + "/state", XenbusState.CONNECTED);
        assertEquals("4", f.host.store.readString(1, be + "/state"));
        assertNull(c.store().read(be + "/nothing"));
        // garbage from the frontend is UNKNOWN, never an exception
        f.host.store.write(1, dev + "/state", "connected!");
        assertEquals(XenbusState.UNKNOWN, c.store().readState(dev + "/state"));
        assertEquals(XenbusState.UNKNOWN, XenbusState.parse("99"));
        assertEquals(XenbusState.CLOSED, XenbusState.of(6));
        assertEquals(8, XenbusState.RECONFIGURED.value());
        // a flood of writes is folded, not queued without bound
        seen.clear();
        for (int i = 0; i < 10_000; i++) {
            f.host.store.write(1, dev + "/flood", Integer.toString(i));
        }
        Thread.sleep(200);
        assertTrue(seen.size() < 64 * 4 + 8, "queued: " + seen.size());
    }

    @Test
    void grantsAreCheckedAgainstWhatTheFrontendGrantedDomain0() throws Exception {
        PvFixture.Dom a = f.pv(1);
        PvFixture.Dom other = f.pv(2);
        int table = grantTable(a);
        int otherTable = grantTable(other);
        int rw = a.scratch(10);
        int ro = a.scratch(11);
        int foreign = a.scratch(12);
        a.hc.memory.write32(rw, 0x11111111);
        a.hc.memory.write32(ro, 0x22222222);
        grant(a, table, 1, 0, rw, false);
        grant(a, table, 2, 0, ro, true);
        grant(a, table, 3, 5, foreign, false); // granted to domain 5, not to Domain 0
        grant(other, otherTable, 4, 0, other.scratch(10), false);
        TestBackend b = new TestBackend(c -> () -> { });
        BackendContext c = attached(b, 1);

        GrantMapping page = c.mapGrant(1, true);
        assertEquals(0x11111111, page.read32(0));
        page.write32(8, 0x33333333);
        assertEquals(0x33333333, a.hc.memory.read32(rw + 8), "the guest sees the backend's write");
        assertThrows(BackendException.class, () -> page.read32(4094), "outside the page");
        assertThrows(BackendException.class, () -> page.read32(2), "misaligned");

        // read-only: mappable only read-only, writes and copies into it refused
        assertThrows(BackendException.class, () -> c.mapGrant(2, true));
        GrantMapping rop = c.mapGrant(2, false);
        assertEquals(0x22222222, rop.read32(0));
        assertThrows(BackendException.class, () -> rop.write32(0, 0));
        assertThrows(BackendException.class, () -> c.copyToGrant(2, 0, new byte[4], 0, 4));
        assertEquals(0x22222222, a.hc.memory.read32(ro), "nothing written");
        byte[] buf = new byte[4];
        c.copyFromGrant(2, 0, buf, 0, 4);
        assertEquals(0x22, buf[0]);

        // foreign: granted to someone else; other domains' grants are out of reach (refs are the frontend's)
        assertThrows(BackendException.class, () -> c.mapGrant(3, false));
        assertThrows(BackendException.class, () -> c.copyFromGrant(3, 0, buf, 0, 4));
        assertThrows(BackendException.class, () -> c.mapGrant(4, false), "d2's ref 4 is not d1's");
        assertThrows(BackendException.class, () -> c.copyFromGrant(1, 4090, buf, 0, 8), "copy past the page");

        // revoked before mapping: the frontend ended access
        a.hc.memory.write16(table + 8 * 1, 0);
        page.unmap();
        assertThrows(BackendException.class, () -> c.mapGrant(1, true));

        // revoked while mapped: the frontend dies, the mapping goes with it
        assertTrue(rop.live());
        backends.domainGone(1);
        f.host.destroyDomain(1);
        assertFalse(rop.live());
        assertThrows(BackendException.class, () -> rop.read32(0));
        assertEquals(0, f.host.dom0Grants.mappedCount());
    }

    @Test
    void guestFramesAreMappedByNumberOnlyWhileTheFrontendOwnsThem() throws Exception {
        PvFixture.Dom a = f.pv(1);
        PvFixture.Dom other = f.pv(2);
        int mine = a.scratch(10);
        a.hc.memory.write32(mine, 0x44444444);
        int theirs = other.scratch(10);
        other.hc.memory.write32(theirs, 0x55555555);
        TestBackend b = new TestBackend(c -> () -> { });
        BackendContext c = attached(b, 1);

        GrantMapping page = c.mapGuestFrame(a.mfnOfVa(mine), true);
        assertEquals(-1, page.ref());
        assertEquals(0x44444444, page.read32(0));
        page.write32(4, 0x66666666);
        assertEquals(0x66666666, a.hc.memory.read32(mine + 4), "the guest sees the backend's write");
        assertThrows(BackendException.class, () -> page.read32(4094), "outside the page");
        GrantMapping ro = c.mapGuestFrame(a.mfnOfVa(mine), false);
        assertThrows(BackendException.class, () -> ro.write32(0, 0), "mapped read-only");
        // another domain's frame, a frame past the end of memory, a negative one: never the frontend's
        assertThrows(BackendException.class, () -> c.mapGuestFrame(other.mfnOfVa(theirs), false));
        assertThrows(BackendException.class, () -> c.mapGuestFrame(1L << 40, false));
        assertThrows(BackendException.class, () -> c.mapGuestFrame(-1, false));
        // the frontend goes: its frames are freed, the mapping reads nothing any more
        backends.domainGone(1);
        f.host.destroyDomain(1);
        assertFalse(page.live());
        assertThrows(BackendException.class, () -> page.read32(0));
    }

    @Test
    void aRingOnARealGrantServesRequestsAndReportsAHostileProducer() throws Exception {
        PvFixture.Dom a = f.pv(1);
        int table = grantTable(a);
        int ringVa = a.scratch(10);
        grant(a, table, 6, 0, ringVa, false);
        a.hc.memory.write32(ringVa + 12, 1); // rsp_event = 1, as SHARED_RING_INIT leaves it
        for (int i = 0; i < 3; i++) {
            a.hc.memory.write32(ringVa + 64 + 16 * i, 500 + i);
        }
        a.hc.memory.write32(ringVa, 3); // req_prod
        TestBackend b = new TestBackend(c -> () -> { });
        BackendContext c = attached(b, 1);
        List<Integer> served = onExecutor(c, () -> {
            SharedRing ring = SharedRing.backEnd(c.mapGrant(6, true), 16, 16);
            List<Integer> tags = new java.util.ArrayList<>();
            byte[] req = new byte[16];
            while (ring.takeRequest(req)) {
                tags.add(java.nio.ByteBuffer.wrap(req).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
                ring.putResponse(req);
            }
            assertTrue(ring.pushResponsesAndCheckNotify());
            a.hc.memory.write32(ringVa, 3 + 10_000); // the guest turns hostile
            assertThrows(RingProtocolException.class, ring::finalCheckForRequests);
            return tags;
        });
        assertEquals(List.of(500, 501, 502), served);
        assertEquals(3, a.hc.memory.read32(ringVa + 8), "rsp_prod published in the guest's page");
    }

    @Test
    void aBackendThatThrowsIsDetachedFromThatDomainOnly() throws Exception {
        PvFixture.Dom a = f.pv(1);
        PvFixture.Dom bDom = f.pv(2);
        int portA = a.xen.evtchn.allocUnbound(0);
        int portB = bDom.xen.evtchn.allocUnbound(0);
        BlockingQueue<Integer> events = new ArrayBlockingQueue<>(64);
        List<Integer> detached = new CopyOnWriteArrayList<>();
        TestBackend b = new TestBackend(c -> {
            int d = c.frontendDomid();
            c.bindInterdomain(d == 1 ? portA : portB, () -> {
                events.add(d);
                if (d == 1 && events.contains(-1)) {
                    throw new IllegalStateException("backend bug for d1");
                }
            });
            return () -> detached.add(d);
        });
        backends.addBackend(b, KIND);
        backends.domainBuilt(1, config(1));
        backends.domainBuilt(2, config(2));
        assertEquals(2, drain(events, 2).size(), "both attached and got the bind's event");
        events.add(-1);
        a.xen.evtchn.send(portA); // d1's handler now throws
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (backends.session(1, KIND) != null && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertNull(backends.session(1, KIND), "detached from d1");
        assertEquals(List.of(1), detached);
        String log = String.join("\n", dmesg);
        assertTrue(log.contains("backend " + KIND + " (" + TestBackend.class.getName() + ") for d1: failed: java.lang.IllegalStateException: backend bug for d1; detached from d1"), log);
        assertEquals(EVTCHNSTAT_UNBOUND, a.xen.evtchn.stateOf(portA), "its port closed");
        // d2 is untouched and still served
        assertNotNull(backends.session(2, KIND));
        events.clear();
        bDom.xen.evtchn.send(portB);
        assertEquals(Integer.valueOf(2), events.poll(5, TimeUnit.SECONDS));
        assertEquals(EVTCHNSTAT_INTERDOMAIN, bDom.xen.evtchn.stateOf(portB));
    }

    @Test
    void anAttachThatThrowsAndABackendThatLeavesHandOverToTheNextOfTheKind() throws Exception {
        f.pv(1);
        TestBackend broken = new TestBackend(c -> {
            throw new IllegalArgumentException("cannot start");
        });
        backends.addBackend(broken, KIND);
        backends.domainBuilt(1, config(1));
        assertNotNull(broken.contexts.poll(5, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (backends.session(1, KIND) != null && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertNull(backends.session(1, KIND));
        TestBackend first = new TestBackend(c -> () -> { });
        backends.addBackend(first, KIND);
        assertNotNull(first.contexts.poll(5, TimeUnit.SECONDS), "a new backend of the kind serves the waiting domain");
        TestBackend second = new TestBackend(c -> () -> { });
        backends.addBackend(second, KIND);
        assertNull(second.contexts.poll(200, TimeUnit.MILLISECONDS), "one backend per kind and domain");
        BackendContext old = backends.session(1, KIND);
        backends.removeBackend(first);
        assertNotNull(second.contexts.poll(5, TimeUnit.SECONDS), "the next backend of the kind takes over");
        assertThrows(BackendException.class, () -> old.store().read("/local/domain/1/name"), "the old context is dead");
        assertTrue(dmesg.stream().anyMatch(l -> l.contains("detached from d1 (backend leaving)")), dmesg.toString());
    }

    /** A backend that serves one port of the frontend and hands over which one it was. */
    private static final class PortBackend implements Backend {
        final int guestPort;
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(4096);
        final BlockingQueue<byte[]> takenOver = new ArrayBlockingQueue<>(4);
        final BlockingQueue<BackendContext> contexts = new ArrayBlockingQueue<>(4);

        PortBackend(int guestPort) {
            this.guestPort = guestPort;
        }

        @Override
        public BackendInstance attach(BackendContext c) {
            return serve(c, 0);
        }

        @Override
        public BackendInstance attach(BackendContext c, byte[] state) {
            if (state.length != 8 || state[0] != 'P') {
                throw new IllegalArgumentException("not a port record");
            }
            takenOver.add(state);
            return serve(c, java.nio.ByteBuffer.wrap(state).getInt(4));
        }

        private BackendInstance serve(BackendContext c, int served) {
            contexts.add(c);
            int[] count = {served};
            EventChannel ch = c.bindInterdomain(guestPort, () -> events.add(Thread.currentThread().getName() + " " + count[0]++));
            return new BackendInstance() {
                @Override
                public void detach() {
                    ch.close();
                }

                @Override
                public byte[] saveState() {
                    return java.nio.ByteBuffer.allocate(8).put((byte) 'P').position(4).putInt(count[0]).array();
                }
            };
        }
    }

    @Test
    void aLeavingBackendHandsItsStateToTheNextWhichRebindsTheFrontendsPortAndTheWaitIsLogged() throws Exception {
        PvFixture.Dom a = f.pv(1);
        int guestPort = a.xen.evtchn.allocUnbound(0);
        PortBackend first = new PortBackend(guestPort);
        backends.addBackend(first, KIND);
        backends.domainBuilt(1, config(1));
        assertNotNull(first.events.poll(5, TimeUnit.SECONDS), "notify-once after the bind");
        assertEquals(0, a.xen.evtchn.send(guestPort));
        assertNotNull(first.events.poll(5, TimeUnit.SECONDS));
        backends.removeBackend(first);
        assertEquals(EVTCHNSTAT_UNBOUND, a.xen.evtchn.stateOf(guestPort), "the frontend's port waits, unbound to Domain 0");
        assertEquals(0, a.xen.evtchn.send(guestPort), "the frontend may still notify: nobody listens, nothing breaks");
        assertTrue(dmesg.stream().anyMatch(l -> l.contains("quiesced, state taken (8 bytes)")), dmesg.toString());

        PortBackend second = new PortBackend(guestPort);
        backends.addBackend(second, KIND);
        byte[] record = second.takenOver.poll(5, TimeUnit.SECONDS);
        assertNotNull(record, "the next backend of the kind gets the record: " + dmesg);
        assertEquals(2, java.nio.ByteBuffer.wrap(record).getInt(4), "two events served before the hand-over");
        String e = second.events.poll(5, TimeUnit.SECONDS);
        assertEquals("xenj-backend-" + KIND + "-d1 2", e, "the rebound port notifies once and counting carries on");
        assertEquals(EVTCHNSTAT_INTERDOMAIN, a.xen.evtchn.stateOf(guestPort));
        assertEquals(0, a.xen.evtchn.send(guestPort));
        assertEquals("xenj-backend-" + KIND + "-d1 3", second.events.poll(5, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (dmesg.stream().noneMatch(l -> l.contains("handed over from")) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(dmesg.stream().anyMatch(l -> l.matches("backend " + KIND + " for d1: handed over from .*PortBackend to "
                + ".*PortBackend, rings paused [0-9.]+ ms")), dmesg.toString());

        // a record the next backend refuses is not reset away: it waits for one that takes it
        backends.removeBackend(second);
        TestBackend refuses = new TestBackend(c -> () -> { });
        backends.addBackend(refuses, KIND);
        assertNull(refuses.contexts.poll(200, TimeUnit.MILLISECONDS),
                "a backend without hand-over support is not attached fresh over a handed-over domain");
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (dmesg.stream().noneMatch(l -> l.contains("cannot take over devices")) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(dmesg.stream().anyMatch(l -> l.contains("cannot take over devices from a saved state")), dmesg.toString());
        PortBackend third = new PortBackend(guestPort);
        backends.addBackend(third, KIND);
        assertNotNull(third.takenOver.poll(5, TimeUnit.SECONDS), "the record waited for a backend that can read it");
        assertEquals("xenj-backend-" + KIND + "-d1 4", third.events.poll(5, TimeUnit.SECONDS));
    }

    @Test
    void domainsWithoutXenStateOrWithoutTheKindGetNoBackend() throws Exception {
        TestBackend b = new TestBackend(c -> () -> { });
        backends.addBackend(b, KIND);
        backends.domainBuilt(9, config(9)); // no Xen domain 9
        assertTrue(dmesg.stream().anyMatch(l -> l.contains("d9 has no Xen ABI")), dmesg.toString());
        f.pv(1);
        backends.domainBuilt(1, DomainConfig.builder("plain").type(DomainType.PV).build());
        assertNull(b.contexts.poll(100, TimeUnit.MILLISECONDS));
        backends.addBackend(new TestBackend(c -> () -> { }), "Bad Kind!");
        assertTrue(dmesg.stream().anyMatch(l -> l.contains("(Bad Kind!): ignored")), dmesg.toString());
        assertEquals(java.util.Set.of("vbd", "vif", "pvtest"), BackendKinds.requested(DomainConfig.builder("x")
                .disks(List.of("file:/x.img,xvda,w")).vifs(List.of("bridge=xenbr0")).raw(Map.of("backends", "\"pvtest\"")).build()));
        // vfb entries ask for the PV framebuffer backend (it serves vkbd too); an empty list does not
        assertEquals(java.util.Set.of("vfb"), BackendKinds.requested(DomainConfig.builder("x").raw(Map.of("vfb", "[\"vnc=1\"]")).build()));
        assertEquals(java.util.Set.of(), BackendKinds.requested(DomainConfig.builder("x").raw(Map.of("vfb", "[ ]")).build()));
    }

    @Test
    void aHotPlugAttachesTheBackendOfItsKindToADomainThatAskedForNone() throws Exception {
        f.pv(1);
        backends.domainBuilt(1, DomainConfig.builder("empty").type(DomainType.PV).build());
        assertNull(backends.session(1, KIND), "the configuration asks for nothing");
        assertThrows(IllegalStateException.class, () -> backends.serve(1, KIND), "no backend of the kind yet");
        TestBackend b = new TestBackend(c -> () -> { });
        backends.addBackend(b, KIND);
        BackendContext late = b.contexts.poll(5, TimeUnit.SECONDS);
        assertNotNull(late, "the kind a refused hot-plug asked for is served once a backend registers: " + dmesg);
        backends.removeBackend(b);
        assertNull(backends.session(1, KIND));

        TestBackend b2 = new TestBackend(c -> () -> { });
        backends.addBackend(b2, KIND);
        assertNotNull(b2.contexts.poll(5, TimeUnit.SECONDS));
        backends.serve(1, KIND); // already served: returns at once
        assertNull(b2.contexts.poll(100, TimeUnit.MILLISECONDS), "one backend per kind and domain");
        String other = "other";
        TestBackend o = new TestBackend(c -> () -> { });
        backends.addBackend(o, other);
        backends.serve(1, other);
        BackendContext c = o.contexts.poll(0, TimeUnit.SECONDS);
        assertNotNull(c, "serve returns after the backend's attach ran");
        assertEquals(1, c.frontendDomid());
        assertNotNull(backends.session(1, other));
        assertTrue(dmesg.stream().anyMatch(l -> l.contains("backend 'other' attached for a hot-plug")), dmesg.toString());

        assertThrows(IllegalArgumentException.class, () -> backends.serve(9, KIND), "no such domain");
        assertThrows(IllegalArgumentException.class, () -> backends.serve(1, "Bad Kind!"));
        TestBackend failing = new TestBackend(x -> {
            throw new IllegalStateException("cannot serve");
        });
        backends.addBackend(failing, "failing");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> backends.serve(1, "failing"));
        assertTrue(e.getMessage().contains("cannot serve"), e.getMessage());
        backends.domainGone(1);
        assertThrows(IllegalArgumentException.class, () -> backends.serve(1, KIND), "a destroyed domain");
    }

    private static List<Integer> drain(BlockingQueue<Integer> q, int n) throws InterruptedException {
        List<Integer> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            Integer x = q.poll(5, TimeUnit.SECONDS);
            if (x == null) {
                break;
            }
            out.add(x);
        }
        return out;
    }
}
