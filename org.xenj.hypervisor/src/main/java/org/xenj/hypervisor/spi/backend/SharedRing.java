package org.xenj.hypervisor.spi.backend;

/**
 * The back end of a shared ring in Xen's {@code io/ring.h} layout, on a granted page. The page
 * starts with four free-running 32-bit indices ({@code req_prod}, {@code req_event},
 * {@code rsp_prod}, {@code rsp_event}) in a 64-byte header; entries follow, each as large as the
 * bigger of request and response (they share a slot), their number the largest power of two that
 * fits in the rest of the page.
 *
 * <p>The frontend is not trusted: every index it writes is checked before use. A producer index
 * that runs more than the ring size ahead of what was consumed is a {@link RingProtocolException}
 * (and the ring stays broken), never a loop or a read outside the ring. Requests are copied out of
 * the shared page before the caller sees them, so the frontend cannot change one while it is being
 * checked. At most {@link #size()} requests are outstanding: {@link #takeRequest} answers false
 * until responses make room, so a flood cannot keep a backend busy forever.
 *
 * <p>Not thread-safe: use it from the backend's executor.
 */
public final class SharedRing {

    /** Bytes of the index header before the first entry. */
    public static final int HEADER_SIZE = 64;
    private static final int REQ_PROD = 0;
    private static final int REQ_EVENT = 4;
    private static final int RSP_PROD = 8;
    private static final int RSP_EVENT = 12;

    private final GrantMapping page;
    private final int requestSize;
    private final int responseSize;
    private final int entrySize;
    private final int size;
    /** Private indices of the back end (ring.h's req_cons and rsp_prod_pvt). */
    private int reqCons;
    private int rspProdPvt;
    private String broken;

    private SharedRing(GrantMapping page, int requestSize, int responseSize) {
        this(page, requestSize, responseSize, false, 0, 0);
    }

    private SharedRing(GrantMapping page, int requestSize, int responseSize, boolean resume, int reqCons, int rspProdPvt) {
        if (requestSize <= 0 || responseSize <= 0) {
            throw new IllegalArgumentException("entry sizes must be positive");
        }
        this.page = page;
        this.requestSize = requestSize;
        this.responseSize = responseSize;
        this.entrySize = Math.max(requestSize, responseSize);
        this.size = ringSize(GrantMapping.PAGE_SIZE, entrySize);
        if (size < 1) {
            throw new IllegalArgumentException("an entry of " + entrySize + " bytes does not fit in a ring page");
        }
        if (resume) {
            if (Integer.compareUnsigned(reqCons - rspProdPvt, size) > 0) {
                throw new IllegalArgumentException("resumed indices: req_cons " + Integer.toUnsignedString(reqCons)
                        + " and rsp_prod " + Integer.toUnsignedString(rspProdPvt) + " on a ring of " + size);
            }
            this.reqCons = reqCons;
            this.rspProdPvt = rspProdPvt;
        } else {
            // as BACK_RING_ATTACH: carry on from what the page says was answered so far
            this.rspProdPvt = page.read32(RSP_PROD);
            this.reqCons = this.rspProdPvt; // the field: the parameters shadow it
        }
    }

    /**
     * Attaches the back end to a ring the frontend initialised on {@code page} (mapped writable:
     * responses and {@code req_event} are written). {@code requestSize}/{@code responseSize} are
     * the C {@code sizeof}s of the protocol's request and response.
     */
    public static SharedRing backEnd(GrantMapping page, int requestSize, int responseSize) {
        if (!page.writable()) {
            throw new BackendException("a back ring needs a writable mapping (grant " + page.ref() + ")");
        }
        return new SharedRing(page, requestSize, responseSize);
    }

    /**
     * Attaches the back end to a ring a previous back end served (a hand-over): the private
     * indices come from that back end's state record, not from the page, which the frontend could
     * have changed meanwhile. At most {@link #size()} requests may have been taken and not answered.
     *
     * @since 1.1
     */
    public static SharedRing resume(GrantMapping page, int requestSize, int responseSize, int requestsConsumed,
            int responsesProduced) {
        if (!page.writable()) {
            throw new BackendException("a back ring needs a writable mapping (grant " + page.ref() + ")");
        }
        return new SharedRing(page, requestSize, responseSize, true, requestsConsumed, responsesProduced);
    }

    /** Entries of a ring on a page of {@code pageSize} bytes: the largest power of two that fits after the header. */
    public static int ringSize(int pageSize, int entrySize) {
        int fit = (pageSize - HEADER_SIZE) / entrySize;
        return fit <= 0 ? 0 : Integer.highestOneBit(fit);
    }

    public int size() {
        return size;
    }

    public int entrySize() {
        return entrySize;
    }

    /** Why the ring broke, or null while it is healthy. */
    public String brokenReason() {
        return broken;
    }

    /** Requests consumed so far (ring.h's free-running {@code req_cons}). */
    public int requestsConsumed() {
        return reqCons;
    }

    /** Responses produced so far, pushed or not ({@code rsp_prod_pvt}). */
    public int responsesProduced() {
        return rspProdPvt;
    }

    private void checkHealthy() {
        if (broken != null) {
            throw new RingProtocolException(broken);
        }
    }

    private RingProtocolException fail(String why) {
        broken = why;
        return new RingProtocolException(why);
    }

    /**
     * Requests ready to be taken (RING_HAS_UNCONSUMED_REQUESTS): what the frontend produced,
     * limited by the room left for responses.
     */
    public int unconsumedRequests() {
        checkHealthy();
        int prod = page.read32(REQ_PROD);
        int ahead = prod - reqCons;
        if (Integer.compareUnsigned(ahead, size) > 0) {
            throw fail("frontend req_prod " + Integer.toUnsignedString(prod) + " is " + Integer.toUnsignedString(ahead)
                    + " past req_cons " + Integer.toUnsignedString(reqCons) + " on a ring of " + size);
        }
        int room = size - (reqCons - rspProdPvt);
        return Math.min(ahead, room);
    }

    /**
     * Copies the next request (its first {@code requestSize} bytes) into {@code into} and consumes
     * it; false if there is none, or if {@link #size()} requests await responses.
     */
    public boolean takeRequest(byte[] into) {
        if (into.length < requestSize) {
            throw new IllegalArgumentException("buffer of " + into.length + " bytes for requests of " + requestSize);
        }
        if (unconsumedRequests() == 0) {
            return false;
        }
        page.read(slotOffset(reqCons), into, 0, requestSize);
        reqCons++;
        return true;
    }

    /** Writes a response into the next slot (not yet visible to the frontend: see {@link #pushResponsesAndCheckNotify}). */
    public void putResponse(byte[] response) {
        checkHealthy();
        if (response.length < responseSize) {
            throw new IllegalArgumentException("response of " + response.length + " bytes, protocol needs " + responseSize);
        }
        if (rspProdPvt == reqCons) {
            throw new IllegalStateException("no request is waiting for a response");
        }
        page.write(slotOffset(rspProdPvt), response, 0, responseSize);
        rspProdPvt++;
    }

    /**
     * Publishes the responses written so far (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY); true if the
     * frontend asked to be notified of one of them ({@code rsp_event} among them).
     */
    public boolean pushResponsesAndCheckNotify() {
        checkHealthy();
        int old = page.read32(RSP_PROD);
        int now = rspProdPvt;
        page.write32(RSP_PROD, now); // volatile write: the responses above are visible first
        int event = page.read32(RSP_EVENT);
        return Integer.compareUnsigned(now - event, now - old) < 0;
    }

    /**
     * RING_FINAL_CHECK_FOR_REQUESTS: true if requests wait; otherwise asks the frontend to notify
     * on the next one ({@code req_event}) and checks again, so none slips in unnoticed.
     */
    public boolean finalCheckForRequests() {
        if (unconsumedRequests() > 0) {
            return true;
        }
        page.write32(REQ_EVENT, reqCons + 1);
        return unconsumedRequests() > 0;
    }

    /**
     * Whether at least {@code n} requests are ready; if not, asks the frontend to notify at its next
     * request ({@code req_event = req_prod + 1}, as Linux's netback does while a packet waits for
     * enough rx buffers) and checks again. {@link #finalCheckForRequests} asks at {@code req_cons + 1}:
     * right for one request, but a consumer that needs more than the frontend has posted is already
     * past that index, and the frontend (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY) would then post the
     * rest without notifying. A frontend moving {@code req_prod} all the time is looked at
     * {@link #size()} times at most.
     *
     * @since 1.2
     */
    public boolean awaitRequests(int n) {
        if (n < 1 || n > size) {
            throw new IllegalArgumentException("cannot wait for " + n + " requests on a ring of " + size);
        }
        for (int look = 0; look < size; look++) {
            int prod = page.read32(REQ_PROD);
            if (unconsumedRequests() >= n) {
                return true;
            }
            page.write32(REQ_EVENT, prod + 1); // volatile, as the read that follows: a full barrier between them
            if (page.read32(REQ_PROD) == prod) {
                return false;
            }
        }
        return unconsumedRequests() >= n;
    }

    private int slotOffset(int index) {
        return HEADER_SIZE + (index & (size - 1)) * entrySize;
    }
}
