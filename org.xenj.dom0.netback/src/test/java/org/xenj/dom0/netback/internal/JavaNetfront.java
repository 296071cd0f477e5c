package org.xenj.dom0.netback.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A netfront written for tests, on a {@link FakeDomain}: it initialises the tx and rx rings in
 * granted pages as Xen's ring macros do, publishes them in xenstore, posts rx buffers and sends
 * frames — or, for the hostile tests, any raw request and any index it likes.
 */
final class JavaNetfront {

    static final int HDR = 64;
    final FakeDomain dom;
    final String fe;
    final int txRef, rxRef;
    final FakeDomain.Page txRing, rxRing;
    int txReqProd, txRspCons, rxReqProd, rxRspCons;
    /** rx buffer grant per rx request id. */
    final int[] rxBuffer = new int[256];
    final byte fill;

    JavaNetfront(FakeDomain dom, int devid, byte fill) {
        this.dom = dom;
        this.fill = fill;
        this.fe = dom.frontendPath() + "/device/vif/" + devid;
        txRef = dom.grant((byte) 0);
        rxRef = dom.grant((byte) 0);
        txRing = dom.page(txRef);
        rxRing = dom.page(rxRef);
        for (FakeDomain.Page p : List.of(txRing, rxRing)) {
            p.write32(4, 1); // req_event
            p.write32(12, 1); // rsp_event
        }
        for (int i = 0; i < rxBuffer.length; i++) {
            rxBuffer[i] = dom.grant(fill);
        }
    }

    /** Publishes the rings as Linux's netfront does and goes Connected. */
    void connect() {
        dom.store.write(fe + "/tx-ring-ref", Integer.toString(txRef));
        dom.store.write(fe + "/rx-ring-ref", Integer.toString(rxRef));
        dom.store.write(fe + "/event-channel", Integer.toString(dom.frontendPort()));
        dom.store.write(fe + "/request-rx-copy", "1");
        dom.store.write(fe + "/feature-rx-notify", "1");
        dom.store.write(fe + "/feature-sg", "1");
        dom.store.write(fe + "/state", "4");
    }

    String backendState() {
        String be = dom.store.read(fe + "/backend");
        return be == null ? null : dom.store.read(be + "/state");
    }

    boolean awaitBackendState(String state, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            if (state.equals(backendState())) {
                return true;
            }
            Thread.sleep(2);
        }
        return false;
    }

    /** Posts up to {@code n} rx buffers (never more than the ring has free slots) and kicks. */
    void postRx(int n) {
        writeRxRequests(n);
        dom.kick();
    }

    /** Writes up to {@code n} rx requests (as many as the ring has free slots) and publishes req_prod. */
    private void writeRxRequests(int n) {
        n = Math.min(n, 256 - (rxReqProd - rxRspCons));
        for (int i = 0; i < n; i++) {
            int id = rxReqProd & 255;
            byte[] req = new byte[8];
            VifRings.put16(req, 0, id);
            int gref = rxBuffer[id];
            req[4] = (byte) gref;
            req[5] = (byte) (gref >> 8);
            req[6] = (byte) (gref >> 16);
            req[7] = (byte) (gref >> 24);
            rxRing.write(HDR + (rxReqProd & 255) * 8, req, 0, 8);
            rxReqProd++;
        }
        rxRing.write32(0, rxReqProd);
    }

    /**
     * Posts {@code n} rx buffers as Linux's and Mini-OS's netfronts do (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY):
     * kicks only if the backend's req_event lies among the new requests. Returns whether it kicked.
     */
    boolean postRxCheckNotify(int n) {
        int old = rxReqProd;
        writeRxRequests(n);
        int event = rxRing.read32(4);
        boolean notify = Integer.compareUnsigned(rxReqProd - event, rxReqProd - old) < 0;
        if (notify) {
            dom.kick();
        }
        return notify;
    }

    /** Writes one raw tx request into the next slot (not yet published). */
    void txRaw(int gref, int offset, int flags, int id, int size) {
        byte[] req = new byte[12];
        req[0] = (byte) gref;
        req[1] = (byte) (gref >> 8);
        req[2] = (byte) (gref >> 16);
        req[3] = (byte) (gref >> 24);
        VifRings.put16(req, 4, offset);
        VifRings.put16(req, 6, flags);
        VifRings.put16(req, 8, id);
        VifRings.put16(req, 10, size);
        txRing.write(HDR + (txReqProd & 255) * 12, req, 0, 12);
        txReqProd++;
    }

    void pushTx() {
        txRing.write32(0, txReqProd);
        dom.kick();
    }

    /** Sends {@code frame} in one slot (a fresh granted page), or in slots of {@code chunk} bytes. */
    void send(byte[] frame, int flags, int chunk) {
        int slots = (frame.length + chunk - 1) / chunk;
        for (int s = 0; s < slots; s++) {
            int len = Math.min(chunk, frame.length - s * chunk);
            int ref = dom.grant(fill);
            dom.page(ref).write(100, frame, s * chunk, len);
            int f = (s == 0 ? flags : 0) | (s + 1 < slots ? VifRings.NETTXF_MORE_DATA : 0);
            txRaw(ref, 100, f, s, s == 0 ? frame.length : len);
        }
        pushTx();
    }

    /** Writes one raw extra-info slot (netif_extra_info: type, flags, then the GSO size, type and features). */
    void txExtra(int type, int flags, int gsoSize, int gsoType) {
        byte[] req = new byte[12];
        req[0] = (byte) type;
        req[1] = (byte) flags;
        VifRings.put16(req, 2, gsoSize);
        req[4] = (byte) gsoType;
        txRing.write(HDR + (txReqProd & 255) * 12, req, 0, 12);
        txReqProd++;
    }

    /**
     * Sends a large packet as Linux's netfront sends a TSO skb: first slot (size = the whole
     * packet, {@code flags | NETTXF_extra_info}), one GSO extra-info slot, then the data slots.
     */
    void sendGso(byte[] packet, int flags, int chunk, int mss, int gsoType) {
        int slots = (packet.length + chunk - 1) / chunk;
        for (int s = 0; s < slots; s++) {
            int len = Math.min(chunk, packet.length - s * chunk);
            int ref = dom.grant(fill);
            dom.page(ref).write(100, packet, s * chunk, len);
            int f = (s == 0 ? flags | VifRings.NETTXF_EXTRA_INFO : 0) | (s + 1 < slots ? VifRings.NETTXF_MORE_DATA : 0);
            txRaw(ref, 100, f, s, s == 0 ? packet.length : len);
            if (s == 0) {
                txExtra(VifRings.XEN_NETIF_EXTRA_TYPE_GSO, 0, mss, gsoType);
            }
        }
        pushTx();
    }

    /** Tx responses published so far that were not read yet: {id, status} pairs. */
    List<int[]> txResponses() {
        List<int[]> out = new ArrayList<>();
        int prod = txRing.read32(8);
        for (; txRspCons != prod; txRspCons++) {
            byte[] r = new byte[4];
            txRing.read(HDR + (txRspCons & 255) * 12, r, 0, 4);
            out.add(new int[] { VifRings.u16(r, 0), (short) VifRings.u16(r, 2) });
        }
        txRing.write32(12, txRspCons + 1); // rsp_event: notify on the next one
        return out;
    }

    /** Waits until {@code n} tx responses are in (beyond those read). */
    List<int[]> awaitTxResponses(int n, long millis) throws InterruptedException {
        List<int[]> out = new ArrayList<>();
        long end = System.currentTimeMillis() + millis;
        while (out.size() < n && System.currentTimeMillis() < end) {
            out.addAll(txResponses());
            if (out.size() < n) {
                dom.notified.tryAcquire(5, TimeUnit.MILLISECONDS);
            }
        }
        return out;
    }

    /** Received frames (reassembled from their slots), up to {@code n}, waiting at most {@code millis}. */
    List<byte[]> receive(int n, long millis) throws InterruptedException {
        List<byte[]> frames = new ArrayList<>();
        java.io.ByteArrayOutputStream cur = new java.io.ByteArrayOutputStream();
        long end = System.currentTimeMillis() + millis;
        while (frames.size() < n && System.currentTimeMillis() < end) {
            int prod = rxRing.read32(8);
            if (rxRspCons == prod) {
                dom.notified.tryAcquire(5, TimeUnit.MILLISECONDS);
                continue;
            }
            for (; rxRspCons != prod; rxRspCons++) {
                byte[] r = new byte[8];
                rxRing.read(HDR + (rxRspCons & 255) * 8, r, 0, 8);
                int id = VifRings.u16(r, 0), offset = VifRings.u16(r, 2), flags = VifRings.u16(r, 4);
                int status = (short) VifRings.u16(r, 6);
                if (status > 0) {
                    byte[] data = new byte[status];
                    dom.page(rxBuffer[id]).read(offset, data, 0, status);
                    cur.writeBytes(data);
                }
                if ((flags & VifRings.NETRXF_MORE_DATA) == 0) {
                    if (status >= 0) {
                        frames.add(cur.toByteArray());
                    }
                    cur.reset();
                }
            }
            rxRing.write32(12, rxRspCons + 1);
        }
        return frames;
    }
}
