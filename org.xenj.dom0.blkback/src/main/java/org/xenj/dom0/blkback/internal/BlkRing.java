package org.xenj.dom0.blkback.internal;

import org.xenj.hypervisor.spi.backend.GrantMapping;
import org.xenj.hypervisor.spi.backend.RingProtocolException;

/**
 * The back end of a blkif ring on one or more granted pages ({@code ring-page-order}): the
 * frontend sees the pages as one virtually contiguous area, so the {@code io/ring.h} header is at
 * the start of the first page and entries run across page boundaries. The single-page
 * {@code SharedRing} of the SPI cannot span pages; the index rules here are the same: every index
 * the frontend writes is checked, a producer more than a ring ahead breaks the ring, and at most
 * {@link #size()} requests await responses (a flood waits; it cannot make us queue more).
 *
 * <p>Not thread-safe: used from the backend's executor only.
 */
final class BlkRing {

    static final int HEADER_SIZE = 64;
    private static final int REQ_PROD = 0;
    private static final int REQ_EVENT = 4;
    private static final int RSP_PROD = 8;
    private static final int RSP_EVENT = 12;

    private final GrantMapping[] pages;
    private final int requestSize;
    private final int responseSize;
    private final int entrySize;
    private final int size;
    private int reqCons;
    private int rspProdPvt;
    private String broken;

    BlkRing(GrantMapping[] pages, int requestSize, int responseSize) {
        this.pages = pages.clone();
        this.requestSize = requestSize;
        this.responseSize = responseSize;
        this.entrySize = Math.max(requestSize, responseSize);
        int fit = (pages.length * GrantMapping.PAGE_SIZE - HEADER_SIZE) / entrySize;
        this.size = Integer.highestOneBit(fit);
        this.rspProdPvt = pages[0].read32(RSP_PROD);
        this.reqCons = rspProdPvt;
    }

    /**
     * A ring handed over by a previous blkback: its private indices come from the state record,
     * not from the page (the frontend could have written anything there meanwhile).
     */
    BlkRing(GrantMapping[] pages, int requestSize, int responseSize, int reqCons, int rspProdPvt) {
        this(pages, requestSize, responseSize);
        if (Integer.compareUnsigned(reqCons - rspProdPvt, size) > 0) {
            throw new IllegalArgumentException("req_cons " + Integer.toUnsignedString(reqCons) + " and rsp_prod "
                    + Integer.toUnsignedString(rspProdPvt) + " do not fit a ring of " + size);
        }
        this.reqCons = reqCons;
        this.rspProdPvt = rspProdPvt;
    }

    /** Requests consumed so far (free-running {@code req_cons}). */
    int requestsConsumed() {
        return reqCons;
    }

    /** Responses produced so far ({@code rsp_prod_pvt}). */
    int responsesProduced() {
        return rspProdPvt;
    }

    int size() {
        return size;
    }

    String brokenReason() {
        return broken;
    }

    /** Requests taken and not answered yet. */
    int outstanding() {
        return reqCons - rspProdPvt;
    }

    private void checkHealthy() {
        if (broken != null) {
            throw new RingProtocolException(broken);
        }
    }

    int unconsumedRequests() {
        checkHealthy();
        int prod = pages[0].read32(REQ_PROD);
        int ahead = prod - reqCons;
        if (Integer.compareUnsigned(ahead, size) > 0) {
            broken = "frontend req_prod " + Integer.toUnsignedString(prod) + " is " + Integer.toUnsignedString(ahead)
                    + " past req_cons " + Integer.toUnsignedString(reqCons) + " on a ring of " + size;
            throw new RingProtocolException(broken);
        }
        return Math.min(ahead, size - (reqCons - rspProdPvt));
    }

    /** Copies the next request into {@code into} (at least requestSize bytes) and consumes it; false if none may be taken. */
    boolean takeRequest(byte[] into) {
        if (unconsumedRequests() == 0) {
            return false;
        }
        copyOut(slotOffset(reqCons), into, requestSize);
        reqCons++;
        return true;
    }

    void putResponse(byte[] response) {
        checkHealthy();
        if (rspProdPvt == reqCons) {
            throw new IllegalStateException("no request is waiting for a response");
        }
        copyIn(slotOffset(rspProdPvt), response, responseSize);
        rspProdPvt++;
    }

    /** Publishes the responses written so far; true if the frontend asked to be notified of one of them. */
    boolean pushResponsesAndCheckNotify() {
        checkHealthy();
        int old = pages[0].read32(RSP_PROD);
        int now = rspProdPvt;
        pages[0].write32(RSP_PROD, now);
        int event = pages[0].read32(RSP_EVENT);
        return Integer.compareUnsigned(now - event, now - old) < 0;
    }

    /** True if requests wait; otherwise sets {@code req_event} and checks once more so none slips by. */
    boolean finalCheckForRequests() {
        if (unconsumedRequests() > 0) {
            return true;
        }
        pages[0].write32(REQ_EVENT, reqCons + 1);
        return unconsumedRequests() > 0;
    }

    private int slotOffset(int index) {
        return HEADER_SIZE + (index & (size - 1)) * entrySize;
    }

    private void copyOut(int offset, byte[] dst, int len) {
        int done = 0;
        while (done < len) {
            int at = offset + done;
            int page = at / GrantMapping.PAGE_SIZE;
            int in = at % GrantMapping.PAGE_SIZE;
            int n = Math.min(len - done, GrantMapping.PAGE_SIZE - in);
            pages[page].read(in, dst, done, n);
            done += n;
        }
    }

    private void copyIn(int offset, byte[] src, int len) {
        int done = 0;
        while (done < len) {
            int at = offset + done;
            int page = at / GrantMapping.PAGE_SIZE;
            int in = at % GrantMapping.PAGE_SIZE;
            int n = Math.min(len - done, GrantMapping.PAGE_SIZE - in);
            pages[page].write(in, src, done, n);
            done += n;
        }
    }
}
