package org.xenj.hypervisor.internal.xenstore;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_HEADER_SIZE;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_PAYLOAD_MAX;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_REQ;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_REQ_CONS;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_REQ_PROD;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_RING_SIZE;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_RSP;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_RSP_CONS;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.XS_RSP_PROD;

import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Consumer;

import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Domain 0's end of one guest's xenstore ring page (io/xs_wire.h): takes requests from the req
 * ring as they arrive (possibly split), answers through {@link XsProtocol}, and queues replies and
 * watch events into the rsp ring as space allows. The guest's indices are untrusted: a producer
 * running more than a ring ahead breaks the connection (logged), never the store.
 */
public final class XsRingConnection {

    private final XsProtocol protocol;
    private final MachineMemory machine;
    private final long page;
    private final Runnable notifyGuest;
    private final Consumer<String> log;
    private final byte[] header = new byte[XS_HEADER_SIZE];
    private int headerFill;
    private byte[] payload;
    private int payloadFill;
    private final Deque<byte[]> out = new ArrayDeque<>();
    private int outOffset;
    private boolean broken;
    private final Object ringLock = new Object();

    public XsRingConnection(XenStore store, int domid, MachineMemory machine, int storeMfn, Runnable notifyGuest, Consumer<String> log) {
        this.machine = machine;
        this.page = (long) storeMfn << 12;
        this.notifyGuest = notifyGuest;
        this.log = log;
        this.protocol = new XsProtocol(store, domid, this, this::queue);
    }

    /** A restore: the guest's watch (absolute path) on this new connection, without an initial event. */
    public void adoptWatch(String absPath, String token, boolean relative) {
        protocol.adoptWatch(absPath, token, relative);
    }

    /** Whether no request is half read and no reply or event waits for ring space (a PV save needs that). */
    public boolean idle() {
        synchronized (ringLock) {
            return !broken && headerFill == 0 && payload == null && out.isEmpty();
        }
    }

    public boolean broken() {
        return broken;
    }

    /**
     * The guest signalled the store event channel: consume requests, push replies. The ring lock
     * is never held while the store works, so that watch events (raised under the store's lock)
     * can always be pushed.
     */
    public void service() {
        java.util.List<byte[][]> requests = new java.util.ArrayList<>();
        boolean progressed = false;
        synchronized (ringLock) {
            if (broken) {
                return;
            }
            int cons = MachineFrames.read32(machine, page + XS_REQ_CONS);
            int prod = MachineFrames.read32(machine, page + XS_REQ_PROD);
            int avail = prod - cons;
            if (avail < 0 || avail > XS_RING_SIZE) {
                fail("request ring indices out of range (cons " + cons + ", prod " + prod + ")");
                return;
            }
            while (avail > 0 && !broken) {
                int b = MachineFrames.read8(machine, page + XS_REQ + (cons & (XS_RING_SIZE - 1)));
                cons++;
                avail--;
                progressed = true;
                byte[][] complete = accept((byte) b);
                if (complete != null) {
                    requests.add(complete);
                }
            }
            if (progressed) {
                MachineFrames.write32(machine, page + XS_REQ_CONS, cons);
            }
        }
        for (byte[][] r : requests) {
            protocol.handle(le32(r[0], 0), le32(r[0], 4), le32(r[0], 8), r[1]);
        }
        boolean wrote;
        synchronized (ringLock) {
            wrote = !broken && flush();
        }
        if (wrote || progressed) {
            notifyGuest.run();
        }
    }

    /** Adds one request byte; returns {header, payload} when a request is complete. */
    private byte[][] accept(byte b) {
        if (payload == null) {
            header[headerFill++] = b;
            if (headerFill == XS_HEADER_SIZE) {
                int len = le32(header, 12);
                if (len < 0 || len > XS_PAYLOAD_MAX) {
                    fail("request payload of " + (len & 0xffffffffL) + " bytes exceeds " + XS_PAYLOAD_MAX);
                    return null;
                }
                payload = new byte[len];
                payloadFill = 0;
                if (len == 0) {
                    return complete();
                }
            }
            return null;
        }
        payload[payloadFill++] = b;
        return payloadFill == payload.length ? complete() : null;
    }

    private byte[][] complete() {
        byte[][] r = {header.clone(), payload};
        headerFill = 0;
        payload = null;
        return r;
    }

    /** Queues a complete message (header + payload) for the guest. */
    void queue(byte[] message) {
        synchronized (ringLock) {
            out.add(message);
        }
    }

    /** Sends queued messages and notifies (used for watch events raised by other domains). */
    public void pushEvents() {
        boolean wrote;
        synchronized (ringLock) {
            wrote = !broken && flush();
        }
        if (wrote) {
            notifyGuest.run();
        }
    }

    private boolean flush() {
        boolean wrote = false;
        int cons = MachineFrames.read32(machine, page + XS_RSP_CONS);
        int prod = MachineFrames.read32(machine, page + XS_RSP_PROD);
        int used = prod - cons;
        if (used < 0 || used > XS_RING_SIZE) {
            fail("response ring indices out of range");
            return false;
        }
        while (!out.isEmpty() && used < XS_RING_SIZE) {
            byte[] m = out.peek();
            while (outOffset < m.length && used < XS_RING_SIZE) {
                MachineFrames.write8(machine, page + XS_RSP + (prod & (XS_RING_SIZE - 1)), m[outOffset++]);
                prod++;
                used++;
                wrote = true;
            }
            if (outOffset == m.length) {
                out.poll();
                outOffset = 0;
            }
        }
        if (wrote) {
            MachineFrames.write32(machine, page + XS_RSP_PROD, prod);
        }
        return wrote;
    }

    private void fail(String why) {
        broken = true;
        log.accept("xenstore: connection closed: " + why);
    }

    static int le32(byte[] b, int o) {
        return b[o] & 0xff | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16 | (b[o + 3] & 0xff) << 24;
    }

    static byte[] message(int type, int reqId, int txId, byte[] body) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(XS_HEADER_SIZE + body.length);
        for (int v : new int[] {type, reqId, txId, body.length}) {
            o.write(v);
            o.write(v >>> 8);
            o.write(v >>> 16);
            o.write(v >>> 24);
        }
        o.write(body, 0, body.length);
        return o.toByteArray();
    }
}
