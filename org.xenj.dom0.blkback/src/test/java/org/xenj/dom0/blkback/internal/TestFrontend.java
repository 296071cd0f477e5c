package org.xenj.dom0.blkback.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * A blkif frontend in Java, as Linux's xen-blkfront drives blkback: grants its ring pages and
 * data pages to Domain 0, publishes ring-ref(s), event-channel and protocol, goes Initialised,
 * then puts requests on the ring in the chosen ABI's layout and reads responses back. It also
 * misbehaves on request (any bytes, any index) for the hostile-frontend tests.
 */
final class TestFrontend {

    static final int REMOTE_PORT = 7;

    final FakeXen xen;
    final BlkifAbi abi;
    final String fe;
    final String be;
    final FakeXen.Grant[] ringPages;
    final int ringSize;
    int reqProd;
    int rspCons;
    private int nextRef = 100;
    /** Indirect segment pages come from a fixed set (one per ring slot) instead of fresh grants. */
    boolean reuseIndirectPages;

    TestFrontend(FakeXen xen, int devid, BlkifAbi abi, int order) {
        this.xen = xen;
        this.abi = abi;
        this.fe = xen.frontendPath() + "/device/vbd/" + devid;
        this.be = xen.read(fe + "/backend");
        this.ringPages = new FakeXen.Grant[1 << order];
        for (int i = 0; i < ringPages.length; i++) {
            ringPages[i] = xen.grant(8 + i, false);
        }
        this.ringSize = Integer.highestOneBit((ringPages.length * 4096 - 64) / abi.requestSize);
        put32(4, 1); // req_event
        put32(12, 1); // rsp_event
    }

    /** Publishes the ring and goes Initialised, as talk_to_blkback does. */
    TestFrontend connect() {
        if (ringPages.length == 1) {
            xen.guestWrites(fe + "/ring-ref", "8");
        } else {
            xen.guestWrites(fe + "/ring-page-order", Integer.toString(Integer.numberOfTrailingZeros(ringPages.length)));
            for (int i = 0; i < ringPages.length; i++) {
                xen.guestWrites(fe + "/ring-ref" + i, Integer.toString(8 + i));
            }
        }
        xen.guestWrites(fe + "/event-channel", Integer.toString(REMOTE_PORT));
        xen.guestWrites(fe + "/protocol", abi.protocolName);
        xen.guestWrites(fe + "/state", "3");
        return this;
    }

    String beState() {
        return xen.read(be + "/state");
    }

    int localPort() {
        return xen.ports.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
    }

    /** A data page granted to Domain 0. */
    int grantPage(boolean readOnly) {
        int ref = nextRef++;
        xen.grant(ref, readOnly);
        return ref;
    }

    // ------------------------------------------------------------------ ring bytes

    private void put(int off, byte[] b, int len) {
        for (int i = 0; i < len; i++) {
            int at = off + i;
            ringPages[at / 4096].page[at % 4096] = b[i];
        }
    }

    private void get(int off, byte[] b, int len) {
        for (int i = 0; i < len; i++) {
            int at = off + i;
            b[i] = ringPages[at / 4096].page[at % 4096];
        }
    }

    void put32(int off, int v) {
        FakeXen.INT.setVolatile(ringPages[0].page, off, v);
    }

    int get32(int off) {
        return (int) FakeXen.INT.getVolatile(ringPages[0].page, off);
    }

    private int slot(int index) {
        int entry = Math.max(abi.requestSize, abi.responseSize);
        return 64 + (index & (ringSize - 1)) * entry;
    }

    /** Puts raw request bytes in the next slot (not yet published). */
    void queue(byte[] request) {
        put(slot(reqProd), request, abi.requestSize);
        reqProd++;
    }

    /** Publishes the queued requests and signals. */
    void push() {
        put32(0, reqProd);
        xen.signal(localPort());
    }

    /** Waits until {@code n} more responses are there; returns them (id, op, status). */
    List<long[]> responses(int n) throws InterruptedException {
        List<long[]> out = new ArrayList<>();
        long end = System.currentTimeMillis() + 20_000;
        while (out.size() < n) {
            int prod = get32(8);
            while (rspCons != prod && out.size() < n) {
                byte[] r = new byte[abi.responseSize];
                get(slot(rspCons), r, r.length);
                long id = 0;
                for (int i = 7; i >= 0; i--) {
                    id = id << 8 | (r[i] & 0xff);
                }
                out.add(new long[] {id, r[8] & 0xff, (short) ((r[10] & 0xff) | r[11] << 8)});
                rspCons++;
            }
            if (out.size() < n) {
                put32(12, rspCons + 1);
                if (System.currentTimeMillis() > end) {
                    throw new AssertionError("only " + out.size() + " of " + n + " responses; log: " + xen.log);
                }
                Thread.sleep(0, 200_000);
            }
        }
        return out;
    }

    /**
     * The responses that are there now (id, op, status), without waiting; asks to be notified of
     * the next one. For a frontend that keeps its ring full (the crash test's write storm).
     */
    List<long[]> poll() {
        List<long[]> out = new ArrayList<>();
        int prod = get32(8);
        while (rspCons != prod) {
            byte[] r = new byte[abi.responseSize];
            get(slot(rspCons), r, r.length);
            long id = 0;
            for (int i = 7; i >= 0; i--) {
                id = id << 8 | (r[i] & 0xff);
            }
            out.add(new long[] {id, r[8] & 0xff, (short) ((r[10] & 0xff) | r[11] << 8)});
            rspCons++;
        }
        put32(12, rspCons + 1);
        return out;
    }

    // ------------------------------------------------------------------ request layouts

    static void le(byte[] b, int off, long v, int bytes) {
        for (int i = 0; i < bytes; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    /** READ/WRITE/FLUSH/BARRIER with direct segments: {gref, first, last}. */
    byte[] rw(int op, long id, long sector, int[][] segs) {
        byte[] r = new byte[abi.requestSize];
        r[0] = (byte) op;
        r[1] = (byte) segs.length;
        le(r, 2, 0x1234, 2);
        le(r, abi.idOffset, id, 8);
        le(r, abi.sectorOffset(), sector, 8);
        for (int i = 0; i < segs.length && i < Blkif.MAX_SEGMENTS; i++) {
            int at = abi.segmentsOffset() + i * 8;
            le(r, at, segs[i][0], 4);
            r[at + 4] = (byte) segs[i][1];
            r[at + 5] = (byte) segs[i][2];
        }
        return r;
    }

    byte[] discard(long id, long sector, long count) {
        byte[] r = new byte[abi.requestSize];
        r[0] = Blkif.OP_DISCARD;
        le(r, abi.idOffset, id, 8);
        le(r, abi.sectorOffset(), sector, 8);
        le(r, abi.discardSectorsOffset(), count, 8);
        return r;
    }

    /** INDIRECT: writes the segment descriptors into fresh granted pages. */
    byte[] indirect(int op, long id, long sector, int[][] segs) {
        byte[] r = new byte[abi.requestSize];
        r[0] = Blkif.OP_INDIRECT;
        r[1] = (byte) op;
        le(r, 2, segs.length, 2);
        le(r, abi.idOffset, id, 8);
        le(r, abi.sectorOffset(), sector, 8);
        int pages = (segs.length + 511) / 512;
        for (int p = 0; p < pages; p++) {
            int ref;
            if (reuseIndirectPages) {
                // one page per ring slot, reused: a fuzzer must not grow the grant table forever
                ref = 1_000_000 + ((reqProd * Blkif.MAX_INDIRECT_PAGES + p) % (ringSize * Blkif.MAX_INDIRECT_PAGES));
                if (!xen.grants.containsKey(ref)) {
                    xen.grant(ref, true);
                }
            } else {
                ref = grantPage(true);
            }
            FakeXen.Grant g = xen.grants.get(ref);
            for (int i = 0; i < 512 && p * 512 + i < segs.length; i++) {
                int[] s = segs[p * 512 + i];
                le(g.page, i * 8, s[0], 4);
                g.page[i * 8 + 4] = (byte) s[1];
                g.page[i * 8 + 5] = (byte) s[2];
            }
            le(r, abi.indirectGrefsOffset() + 4 * p, ref, 4);
        }
        return r;
    }

    /** Sends one request and returns its status, checking id and operation echo. */
    int one(byte[] request, int expectOp) throws InterruptedException {
        long id = 0;
        for (int i = 7; i >= 0; i--) {
            id = id << 8 | (request[abi.idOffset + i] & 0xff);
        }
        queue(request);
        push();
        long[] r = responses(1).get(0);
        assertEquals(id, r[0], "response id");
        assertEquals(expectOp, r[1], "response operation");
        return (int) r[2];
    }

    static void assertOk(int status) {
        assertTrue(status == 0, "status " + status);
    }
}
