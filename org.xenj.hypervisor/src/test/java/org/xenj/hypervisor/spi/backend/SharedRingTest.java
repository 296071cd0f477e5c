package org.xenj.hypervisor.spi.backend;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The back ring against a frontend played by the test, honest and hostile. Sizes are checked
 * against what Linux's own drivers get from ring.h on 4 KiB pages (blkif: 32 slots; netif tx and
 * rx: 256), and index arithmetic against wrap-around at 2^32.
 */
class SharedRingTest {

    private static final int REQ_PROD = 0;
    private static final int REQ_EVENT = 4;
    private static final int RSP_PROD = 8;
    private static final int RSP_EVENT = 12;

    /** A frontend as ring.h's FRONT_RING macros drive it: requests carry their index in the first word. */
    private static final class Front {
        final ArrayPage page;
        final int entrySize;
        final int size;
        int reqProdPvt;

        Front(ArrayPage page, int reqSize, int rspSize, int start) {
            this.page = page;
            this.entrySize = Math.max(reqSize, rspSize);
            this.size = SharedRing.ringSize(4096, entrySize);
            page.put(REQ_PROD, start);
            page.put(RSP_PROD, start);
            page.put(REQ_EVENT, start + 1);
            page.put(RSP_EVENT, start + 1);
            reqProdPvt = start;
        }

        void request(int tag) {
            page.put(SharedRing.HEADER_SIZE + (reqProdPvt & (size - 1)) * entrySize, tag);
            reqProdPvt++;
        }

        /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY. */
        boolean push() {
            int old = page.get(REQ_PROD);
            page.put(REQ_PROD, reqProdPvt);
            return Integer.compareUnsigned(reqProdPvt - page.get(REQ_EVENT), reqProdPvt - old) < 0;
        }

        int responseTag(int index) {
            return page.get(SharedRing.HEADER_SIZE + (index & (size - 1)) * entrySize);
        }
    }

    private static byte[] tagged(int size, int tag) {
        byte[] b = new byte[size];
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, tag);
        return b;
    }

    private static int tagOf(byte[] b) {
        return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(0);
    }

    @Test
    void ringSizesMatchThoseOfXensProtocols() {
        assertEquals(32, SharedRing.ringSize(4096, 112), "blkif (x86_32 request 112 bytes)");
        assertEquals(256, SharedRing.ringSize(4096, 12), "netif tx (request 12, response 4)");
        assertEquals(256, SharedRing.ringSize(4096, 8), "netif rx (request 4, response 8)");
        assertEquals(1, SharedRing.ringSize(4096, 4032));
        assertEquals(0, SharedRing.ringSize(4096, 4033));
        assertEquals(32, SharedRing.backEnd(new ArrayPage(true), 112, 12).size());
    }

    @Test
    void aBackRingNeedsAWritablePage() {
        assertThrows(BackendException.class, () -> SharedRing.backEnd(new ArrayPage(false), 16, 16));
    }

    @Test
    void requestsAreTakenInOrderAndResponsesPublishedWithXensNotifyRule() {
        ArrayPage page = new ArrayPage(true);
        Front front = new Front(page, 16, 8, 0);
        SharedRing ring = SharedRing.backEnd(page, 16, 8);
        assertFalse(ring.finalCheckForRequests());
        assertEquals(1, page.get(REQ_EVENT), "asks to be told of request 1");
        front.request(100);
        front.request(101);
        front.request(102);
        assertTrue(front.push(), "req_event 1 was crossed: the frontend must notify");
        byte[] req = new byte[16];
        for (int i = 0; i < 3; i++) {
            assertTrue(ring.takeRequest(req));
            assertEquals(100 + i, tagOf(req));
            ring.putResponse(tagged(8, 200 + i));
        }
        assertFalse(ring.takeRequest(req));
        assertEquals(0, page.get(RSP_PROD), "responses are invisible until pushed");
        assertTrue(ring.pushResponsesAndCheckNotify(), "rsp_event 1 lies in (0, 3]");
        assertEquals(3, page.get(RSP_PROD));
        assertEquals(201, front.responseTag(1));
        // the frontend now asks to hear only from response 10 on
        page.put(RSP_EVENT, 10);
        front.request(103);
        front.push();
        assertTrue(ring.takeRequest(req));
        ring.putResponse(tagged(8, 203));
        assertFalse(ring.pushResponsesAndCheckNotify(), "rsp_event 10 not reached by 4");
        assertFalse(ring.finalCheckForRequests());
        assertEquals(5, page.get(REQ_EVENT));
    }

    /**
     * A consumer that needs three requests at once (a packet over three rx buffers) while one is
     * posted: req_event = req_prod + 1, so each later push notifies. ring.h's final check would have
     * left req_event at req_cons + 1, which the posted request already passed: no notification.
     */
    @Test
    void awaitingSeveralRequestsAsksForAnEventAtTheNextOne() {
        ArrayPage page = new ArrayPage(true);
        Front front = new Front(page, 8, 8, 0xfffffffe); // across the index wrap
        SharedRing ring = SharedRing.backEnd(page, 8, 8);
        front.request(1);
        assertTrue(front.push());
        assertFalse(ring.awaitRequests(3));
        assertEquals(0, page.get(REQ_EVENT), "the request after req_prod 0xffffffff");
        front.request(2);
        assertTrue(front.push(), "the second buffer notifies");
        assertFalse(ring.awaitRequests(3));
        assertEquals(1, page.get(REQ_EVENT));
        front.request(3);
        assertTrue(front.push(), "and the third");
        assertTrue(ring.awaitRequests(3));
        assertTrue(ring.awaitRequests(1));
        assertThrows(IllegalArgumentException.class, () -> ring.awaitRequests(0));
        assertThrows(IllegalArgumentException.class, () -> ring.awaitRequests(ring.size() + 1));
        page.put(REQ_PROD, 0x7fff0000); // hostile: far beyond the ring
        assertThrows(RingProtocolException.class, () -> ring.awaitRequests(2));
    }

    @Test
    void finalCheckCatchesARequestThatRacedWithIt() {
        ArrayPage page = new ArrayPage(true);
        Front front = new Front(page, 16, 16, 0);
        SharedRing ring = SharedRing.backEnd(page, 16, 16);
        front.request(7);
        front.push();
        assertTrue(ring.finalCheckForRequests(), "a pending request is reported, not slept on");
        assertEquals(1, page.get(REQ_EVENT), "req_event untouched while work is pending");
    }

    @Test
    void indicesWrapAroundTwoToTheThirtyTwo() {
        ArrayPage page = new ArrayPage(true);
        int start = -5; // 0xfffffffb
        Front front = new Front(page, 32, 32, start);
        SharedRing ring = SharedRing.backEnd(page, 32, 32);
        byte[] req = new byte[32];
        for (int i = 0; i < 20; i++) {
            front.request(i);
            front.push();
            assertTrue(ring.takeRequest(req));
            assertEquals(i, tagOf(req));
            ring.putResponse(tagged(32, 1000 + i));
            ring.pushResponsesAndCheckNotify();
        }
        assertEquals(start + 20, page.get(RSP_PROD));
        assertEquals(15, page.get(RSP_PROD));
    }

    @Test
    void aProducerThatJumpsPastTheRingIsAProtocolErrorAndTheRingStaysBroken() {
        ArrayPage page = new ArrayPage(true);
        new Front(page, 64, 64, 0);
        SharedRing ring = SharedRing.backEnd(page, 64, 64);
        page.put(REQ_PROD, ring.size() + 1);
        RingProtocolException e = assertThrows(RingProtocolException.class, () -> ring.takeRequest(new byte[64]));
        assertTrue(e.getMessage().contains("req_prod"), e.getMessage());
        page.put(REQ_PROD, 1); // even a sane value later does not revive it
        assertThrows(RingProtocolException.class, ring::unconsumedRequests);
        assertThrows(RingProtocolException.class, ring::pushResponsesAndCheckNotify);
        assertNotNull(ring.brokenReason());
        // a producer behind the consumer (negative distance) is as bad
        ArrayPage page2 = new ArrayPage(true);
        new Front(page2, 64, 64, 100);
        SharedRing ring2 = SharedRing.backEnd(page2, 64, 64);
        page2.put(REQ_PROD, 99);
        assertThrows(RingProtocolException.class, ring2::unconsumedRequests);
    }

    @Test
    void aFloodStopsAtTheRingSizeUntilResponsesMakeRoom() {
        ArrayPage page = new ArrayPage(true);
        Front front = new Front(page, 16, 16, 0);
        SharedRing ring = SharedRing.backEnd(page, 16, 16);
        byte[] req = new byte[16];
        int taken = 0;
        // the frontend keeps producing a full ring ahead of what the backend consumed, never reading responses
        for (int round = 0; round < 10_000; round++) {
            page.put(REQ_PROD, ring.requestsConsumed() + ring.size());
            if (!ring.takeRequest(req)) {
                break;
            }
            taken++;
        }
        assertEquals(ring.size(), taken, "no more than a ring's worth outstanding without responses");
        ring.putResponse(new byte[16]);
        page.put(REQ_PROD, ring.requestsConsumed() + ring.size());
        assertTrue(ring.takeRequest(req), "one response, one more request");
        assertFalse(ring.takeRequest(req));
        assertThrows(IllegalStateException.class, () -> {
            SharedRing fresh = SharedRing.backEnd(new ArrayPage(true), 16, 16);
            fresh.putResponse(new byte[16]);
        }, "a response with no request outstanding is the backend's bug");
        assertTrue(front.size > 0);
    }

    @Test
    void randomHostileIndicesNeverReadOutsideThePageOrLoop() {
        Random r = new Random(20261204);
        int protocolErrors = 0;
        int requests = 0;
        for (int trial = 0; trial < 2000; trial++) {
            ArrayPage page = new ArrayPage(true);
            int entry = 1 + r.nextInt(600);
            int start = r.nextInt();
            new Front(page, entry, 1 + r.nextInt(entry), start);
            SharedRing ring = SharedRing.backEnd(page, entry, Math.min(entry, 8));
            byte[] req = new byte[entry];
            try {
                for (int step = 0; step < 200; step++) {
                    // the peer scribbles over all four indices at random, sometimes plausibly
                    int cons = ring.requestsConsumed();
                    page.put(REQ_PROD, r.nextBoolean() ? cons + r.nextInt(2 * ring.size() + 1) - ring.size() / 2 : r.nextInt());
                    page.put(REQ_EVENT, r.nextInt());
                    page.put(RSP_EVENT, r.nextInt());
                    if (r.nextInt(4) == 0) {
                        page.put(RSP_PROD, r.nextInt());
                    }
                    int n = 0;
                    while (ring.takeRequest(req)) {
                        requests++;
                        assertTrue(++n <= ring.size(), "more requests in one go than the ring holds");
                        ring.putResponse(new byte[Math.min(entry, 8)]);
                    }
                    ring.pushResponsesAndCheckNotify();
                    ring.finalCheckForRequests();
                }
            } catch (RingProtocolException e) {
                protocolErrors++;
            }
            assertTrue(page.accesses < 200L * (4 * ring.size() + 16), "bounded work per step");
        }
        assertTrue(protocolErrors > 100, "hostile indices are reported: " + protocolErrors);
        assertTrue(requests > 1000, "plausible indices are served: " + requests);
    }
}
