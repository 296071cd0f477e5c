package org.xenj.hypervisor.internal.xenstore;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.xenabi.XsWire;

/** The guest side written by hand: requests into the req ring, replies read from rsp. */
class XsRingConnectionTest {

    private final MachineMemory m = new MachineMemory(4L << 20);
    private final int mfn = m.allocate(5, 1)[0];
    private final long page = (long) mfn << 12;
    private final XenStore xs = new XenStore();
    private final List<String> log = new ArrayList<>();
    private int notifications;
    private final XsRingConnection conn = new XsRingConnection(xs, 5, m, mfn, () -> notifications++, log::add);
    private int reqProd;
    private int rspCons;

    private void send(int type, int reqId, int tx, String... parts) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (int i = 0; i < parts.length; i++) {
            body.writeBytes(parts[i].getBytes(StandardCharsets.UTF_8));
            if (i < parts.length - 1 || type != XsWire.XS_WRITE) {
                body.write(0);
            }
        }
        byte[] msg = XsRingConnection.message(type, reqId, tx, body.toByteArray());
        for (byte x : msg) {
            MachineFrames.write8(m, page + XS_REQ + (reqProd & 1023), x);
            reqProd++;
        }
        MachineFrames.write32(m, page + XS_REQ_PROD, reqProd);
        conn.service();
    }

    /** Reads one reply: {type, reqId, payload}. */
    private Object[] reply() {
        byte[] h = new byte[16];
        for (int i = 0; i < 16; i++) {
            h[i] = (byte) MachineFrames.read8(m, page + XS_RSP + (rspCons++ & 1023));
        }
        int len = XsRingConnection.le32(h, 12);
        byte[] p = new byte[len];
        for (int i = 0; i < len; i++) {
            p[i] = (byte) MachineFrames.read8(m, page + XS_RSP + (rspCons++ & 1023));
        }
        MachineFrames.write32(m, page + XS_RSP_CONS, rspCons);
        return new Object[] {XsRingConnection.le32(h, 0), XsRingConnection.le32(h, 4), new String(p, StandardCharsets.UTF_8)};
    }

    @Test
    void requestsAnsweredOverTheRing() {
        xs.introduceDomain(5, "g");
        send(XsWire.XS_WRITE, 1, 0, "data/k", "hello");
        Object[] r = reply();
        assertEquals(XsWire.XS_WRITE, r[0]);
        assertEquals(1, r[1]);
        assertEquals("OK\0", r[2]);
        send(XsWire.XS_READ, 2, 0, "data/k");
        assertEquals("hello", reply()[2]);
        xs.write(0, "/tool/secret", "x");
        send(XsWire.XS_READ, 3, 0, "/tool/secret");
        r = reply();
        assertEquals(XsWire.XS_ERROR, r[0]);
        assertEquals("EACCES\0", r[2]);
        send(XsWire.XS_GET_DOMAIN_PATH, 4, 0, "5");
        assertEquals("/local/domain/5\0", reply()[2]);
        send(XsWire.XS_TRANSACTION_START, 5, 0, "");
        String tx = ((String) reply()[2]).replace("\0", "");
        send(XsWire.XS_WRITE, 6, Integer.parseInt(tx), "data/t", "v");
        reply();
        send(XsWire.XS_TRANSACTION_END, 7, Integer.parseInt(tx), "T");
        assertEquals("OK\0", reply()[2]);
        assertEquals("v", xs.readString(5, "data/t"));
        assertTrue(notifications > 0);
    }

    @Test
    void watchEventsArriveAfterTheOk() {
        xs.introduceDomain(5, "g");
        send(XsWire.XS_WATCH, 1, 0, "device", "tk");
        assertEquals("OK\0", reply()[2]);
        Object[] ev = reply();
        assertEquals(XsWire.XS_WATCH_EVENT, ev[0]);
        assertEquals("device\0tk\0", ev[2]);
        xs.write(0, "/local/domain/5/device/vbd", "x");
        ev = reply();
        assertEquals(XsWire.XS_WATCH_EVENT, ev[0]);
        assertEquals("device/vbd\0tk\0", ev[2]);
    }

    @Test
    void hostileIndicesOrSizesCloseTheConnectionNotTheStore() {
        MachineFrames.write32(m, page + XS_REQ_PROD, 5000);
        conn.service();
        assertTrue(conn.broken());
        assertFalse(log.isEmpty());
        XsRingConnection other = new XsRingConnection(xs, 5, m, m.allocate(5, 1)[0], () -> { }, log::add);
        assertFalse(other.broken());
    }

    @Test
    void unknownTypeIsEnosys() {
        send(99, 9, 0, "x");
        Object[] r = reply();
        assertEquals(XsWire.XS_ERROR, r[0]);
        assertEquals("ENOSYS\0", r[2]);
    }
}
