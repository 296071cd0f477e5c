package org.xenj.dom0.netback.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.xenj.dom0.vswitch.api.Port;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;
import org.xenj.hypervisor.spi.backend.SharedRing;

/**
 * The data path of one connected vif (Xen's {@code io/netif.h}, copying receive path): the tx
 * ring, whose requests name the frontend's granted buffers holding an outgoing frame (copied out
 * with grant copy, checksummed if the frontend left that to us, sent into the switch), and the rx
 * ring, whose requests name empty granted pages that frames from the switch are copied into.
 * Everything runs on the backend's executor for the domain. The frontend is untrusted: every
 * request is checked, a bad one answered with an error, and a ring broken beyond repair
 * ({@link org.xenj.hypervisor.spi.backend.RingProtocolException}) ends the connection.
 */
final class VifRings {

    // netif.h: tx request {gref u32, offset u16, flags u16, id u16, size u16}, response {id u16, status s16}
    static final int TX_REQ = 12, TX_RSP = 4;
    // rx request {id u16, pad u16, gref u32}, response {id u16, offset u16, flags u16, status s16}
    static final int RX_REQ = 8, RX_RSP = 8;
    static final int NETTXF_CSUM_BLANK = 1, NETTXF_DATA_VALIDATED = 2, NETTXF_MORE_DATA = 4, NETTXF_EXTRA_INFO = 8;
    static final int NETRXF_MORE_DATA = 4;
    static final int XEN_NETIF_EXTRA_FLAG_MORE = 1;
    static final int XEN_NETIF_EXTRA_TYPE_GSO = 1;
    /** Largest packet a GSO request may describe (the first slot's size is 16 bits). */
    static final int MAX_GSO_PACKET = 0xffff;
    static final int RSP_ERROR = -1, RSP_OKAY = 0, RSP_NULL = 1;
    static final int PAGE = GrantMapping.PAGE_SIZE;
    /** Slots one frame may span (Linux's frontends use at most 18; more is a hostile chain). */
    static final int MAX_SLOTS = 20;
    /** Slots taken per turn before the executor lets other work (rx, other vifs) run. */
    static final int TX_BUDGET = 256;
    /** Frames from the switch waiting for the frontend to post rx buffers. */
    static final int RX_BACKLOG = 256;

    private final BackendContext ctx;
    private final String name;
    private final int maxFrame;
    private final boolean rxSg;
    private final SharedRing tx;
    private final SharedRing rx;
    private final EventChannel evtchn;
    private final VifStats stats;
    private Port port;
    private final Runnable onBroken;
    private boolean closed;
    /** Reused request/response scratch: the hot path allocates only the frame itself. */
    private final byte[] txReq = new byte[TX_REQ];
    private final byte[] txRsp = new byte[TX_RSP];
    private final byte[] rxReq = new byte[RX_REQ];
    private final byte[] rxRsp = new byte[RX_RSP];
    private final int[] slotGref = new int[MAX_SLOTS];
    private final int[] slotOffset = new int[MAX_SLOTS];
    private final int[] slotSize = new int[MAX_SLOTS];
    private final int[] slotId = new int[MAX_SLOTS];
    /** Extra-info slots answered with NETIF_RSP_NULL, after the data slots. */
    private int extraSlots;
    /** The current packet's GSO extra info (MSS and type), or 0 when it is a plain frame. */
    private int gsoSize, gsoType;
    /** Segments of a GSO packet go straight into the switch (one sink, no allocation per packet). */
    private final TcpSegmenter.Sink toSwitch = this::sendFrame;
    /** A chain that went past MAX_SLOTS is answered with errors until its last slot, even across turns. */
    private boolean discardingChain;
    /** Frames waiting for rx buffers: a circular queue (no allocation per frame beyond the frame itself). */
    private final byte[][] backlog = new byte[RX_BACKLOG][];
    private final int[] backlogLength = new int[RX_BACKLOG];
    private int backlogHead, backlogCount;

    VifRings(BackendContext ctx, String name, int maxFrame, boolean rxSg, SharedRing tx, SharedRing rx, EventChannel evtchn,
            VifStats stats, Runnable onBroken) {
        this.ctx = ctx;
        this.name = name;
        this.maxFrame = maxFrame;
        this.rxSg = rxSg;
        this.tx = tx;
        this.rx = rx;
        this.evtchn = evtchn;
        this.stats = stats;
        this.onBroken = onBroken;
    }

    void setPort(Port port) {
        this.port = port;
    }

    /** The frames still waiting for rx buffers, oldest first, and whether a chain is being discarded (quiesced, for the record). */
    NetbackState.Rings save(int txRef, int rxRef, int remotePort) {
        List<byte[]> waiting = new ArrayList<>(backlogCount);
        for (int i = 0; i < backlogCount; i++) {
            int at = (backlogHead + i) % RX_BACKLOG;
            waiting.add(Arrays.copyOf(backlog[at], backlogLength[at]));
        }
        return new NetbackState.Rings(txRef, rxRef, remotePort, rxSg, tx.requestsConsumed(), tx.responsesProduced(),
                rx.requestsConsumed(), rx.responsesProduced(), discardingChain, waiting);
    }

    /** A previous netback's rings carry on: its waiting frames and an unfinished discard. */
    void resume(NetbackState.Rings r) {
        discardingChain = r.discardingChain();
        for (byte[] f : r.backlog()) {
            int tail = (backlogHead + backlogCount) % RX_BACKLOG;
            backlog[tail] = f;
            backlogLength[tail] = f.length;
            backlogCount++;
        }
    }

    /** Stops all work (a hand-over's quiesce: every slot taken was answered synchronously, so nothing is in flight). */
    void quiesce() {
        closed = true;
    }

    void close() {
        closed = true;
        java.util.Arrays.fill(backlog, null);
        backlogCount = 0;
    }

    /** The frontend signalled: new tx requests and/or new rx buffers. */
    void onEvent() {
        if (closed) {
            return;
        }
        try {
            boolean more = processTx();
            flushRx();
            if (more) {
                ctx.executor().execute(this::onEvent); // a flood yields to everything else queued
            }
        } catch (BackendException e) {
            // the ring page went (RingProtocolException: the frontend broke the protocol)
            stats.fatal(name + ": " + e.getMessage());
            onBroken.run();
        }
    }

    // ------------------------------------------------------------------ transmit (guest -> switch)

    /** Takes up to {@link #TX_BUDGET} slots; true if requests remain. */
    private boolean processTx() {
        int budget = TX_BUDGET;
        boolean more = false;
        while (!closed) {
            if (budget <= 0) {
                more = tx.unconsumedRequests() > 0;
                break;
            }
            if (!tx.takeRequest(txReq)) {
                if (tx.finalCheckForRequests()) {
                    continue;
                }
                break;
            }
            budget--;
            if (discardingChain) {
                budget -= discardSlot();
                continue;
            }
            budget -= onePacket();
        }
        if (tx.pushResponsesAndCheckNotify()) {
            evtchn.notifyRemote();
        }
        return more;
    }

    /** Answers one slot of an overlong chain with an error; ends the discard at the chain's last slot. */
    private int discardSlot() {
        int flags = u16(txReq, 6);
        respondTx(u16(txReq, 8), RSP_ERROR);
        if ((flags & NETTXF_MORE_DATA) == 0) {
            discardingChain = false;
        }
        return 0;
    }

    /** Handles the packet whose first slot is in {@link #txReq}; returns extra slots it consumed. */
    private int onePacket() {
        int n = 0;
        extraSlots = 0;
        gsoSize = 0;
        gsoType = 0;
        int firstFlags = u16(txReq, 6);
        int total = u16(txReq, 10);
        int flags = firstFlags;
        record(n++);
        String error = null;
        if ((flags & NETTXF_EXTRA_INFO) != 0) {
            // extra-info slots follow the first one; we offer no GSO nor multicast control, so any is refused
            int extraFlags = XEN_NETIF_EXTRA_FLAG_MORE;
            while ((extraFlags & XEN_NETIF_EXTRA_FLAG_MORE) != 0) {
                if (extraSlots >= 4 || !tx.takeRequest(txReq)) {
                    error = "extra-info chain truncated or too long";
                    break;
                }
                extraSlots++;
                int type = txReq[0] & 0xff;
                extraFlags = txReq[1] & 0xff;
                if (type == XEN_NETIF_EXTRA_TYPE_GSO && gsoType == 0) {
                    gsoSize = u16(txReq, 2);
                    gsoType = txReq[4] & 0xff;
                } else if (error == null) {
                    error = type == XEN_NETIF_EXTRA_TYPE_GSO ? "a second GSO extra info" : "extra info type " + type + " (multicast control) not offered";
                }
            }
            if (error == null && gsoType == 0) {
                error = "extra info flag without a GSO extra";
            }
        }
        while ((flags & NETTXF_MORE_DATA) != 0) {
            if (n == MAX_SLOTS) {
                error = "fragment chain longer than " + MAX_SLOTS + " slots";
                discardingChain = true;
                break;
            }
            if (!tx.takeRequest(txReq)) {
                error = "fragment chain ends in the middle of a frame";
                break;
            }
            flags = u16(txReq, 6);
            record(n++);
        }
        if (error == null) {
            error = validate(n, total);
        }
        byte[] frame = null;
        if (error == null) {
            frame = new byte[total];
            error = copyIn(n, total, frame);
        }
        boolean sent = false;
        if (error == null && gsoType != 0) {
            // one large TCP packet: cut into MTU-sized frames, each checksummed (it always is: TSO implies csum_blank)
            error = TcpSegmenter.segment(frame, total, gsoSize, gsoType, maxFrame, toSwitch);
            sent = true;
        } else if (error == null && (firstFlags & NETTXF_CSUM_BLANK) != 0 && !Checksums.fill(frame, total)) {
            error = "csum_blank on a frame that is not whole TCP/UDP over IPv4/IPv6";
        }
        int status = error == null ? RSP_OKAY : RSP_ERROR;
        for (int i = 0; i < n; i++) {
            respondTx(slotId[i], status);
        }
        for (int i = 0; i < extraSlots; i++) {
            respondTx(0, RSP_NULL);
        }
        if (error != null) {
            stats.txError(name + ": " + error);
        } else if (!sent) {
            sendFrame(frame, total);
        }
        return n - 1 + extraSlots;
    }

    private void sendFrame(byte[] frame, int length) {
        if (port == null || !port.send(frame, length)) {
            stats.txDropped();
        } else {
            stats.txSent(length);
        }
    }

    private void record(int i) {
        slotGref[i] = (int) u32(txReq, 0);
        slotOffset[i] = u16(txReq, 4);
        slotSize[i] = u16(txReq, 10);
        slotId[i] = u16(txReq, 8);
    }

    /** The first slot's size is the whole frame's; its own share is what the others leave. */
    private String validate(int n, int total) {
        if (total < 14) {
            return "frame of " + total + " bytes (an Ethernet header is 14)";
        }
        if (total > (gsoType != 0 ? MAX_GSO_PACKET : maxFrame)) {
            return "frame of " + total + " bytes exceeds the MTU (at most " + maxFrame + ")";
        }
        int rest = 0;
        for (int i = 1; i < n; i++) {
            if (slotSize[i] == 0 || slotOffset[i] + slotSize[i] > PAGE) {
                return "slot " + i + " (offset " + slotOffset[i] + ", size " + slotSize[i] + ") is empty or crosses its page";
            }
            rest += slotSize[i];
        }
        int first = total - rest;
        if (first <= 0 || slotOffset[0] + first > PAGE) {
            return "first slot (offset " + slotOffset[0] + ", " + first + " bytes of " + total + ") is empty or crosses its page";
        }
        slotSize[0] = first;
        return null;
    }

    /** Grant-copies every slot into {@code frame} (which they fill exactly); null or why not. */
    private String copyIn(int n, int total, byte[] frame) {
        int pos = 0;
        for (int i = 0; i < n; i++) {
            try {
                ctx.copyFromGrant(slotGref[i], slotOffset[i], frame, pos, slotSize[i]);
            } catch (BackendException e) {
                return "slot " + i + ": " + e.getMessage();
            }
            pos += slotSize[i];
        }
        return pos == total ? null : "slots hold " + pos + " of " + total + " bytes";
    }

    private void respondTx(int id, int status) {
        put16(txRsp, 0, id);
        put16(txRsp, 2, status);
        tx.putResponse(txRsp);
    }

    // ------------------------------------------------------------------ receive (switch -> guest)

    /** A frame from the switch (on the executor): queued for the frontend's next rx buffers. */
    void deliver(byte[] frame, int length) {
        if (closed) {
            return;
        }
        if (length > maxFrame || (!rxSg && length > PAGE)) {
            stats.rxDropped();
            return;
        }
        if (backlogCount == RX_BACKLOG) {
            stats.rxDropped();
            return;
        }
        int tail = (backlogHead + backlogCount) % RX_BACKLOG;
        backlog[tail] = frame;
        backlogLength[tail] = length;
        backlogCount++;
        try {
            flushRx();
        } catch (BackendException e) {
            stats.fatal(name + ": " + e.getMessage());
            onBroken.run();
        }
    }

    private void flushRx() {
        boolean pushed = false;
        while (!closed && backlogCount > 0) {
            byte[] frame = backlog[backlogHead];
            int length = backlogLength[backlogHead];
            int slots = (length + PAGE - 1) / PAGE;
            if (!rx.awaitRequests(slots)) {
                // req_event = req_prod + 1: the frontend notifies at its next buffer. (req_cons + 1, ring.h's final
                // check, would be behind req_prod when some but not all of a multi-slot frame's buffers are posted.)
                break;
            }
            backlog[backlogHead] = null;
            backlogHead = (backlogHead + 1) % RX_BACKLOG;
            backlogCount--;
            boolean ok = true;
            for (int s = 0, pos = 0; s < slots; s++) {
                rx.takeRequest(rxReq);
                int id = u16(rxReq, 0);
                int gref = (int) u32(rxReq, 4);
                int chunk = Math.min(PAGE, length - pos);
                if (ok) {
                    try {
                        ctx.copyToGrant(gref, 0, frame, pos, chunk);
                    } catch (BackendException e) {
                        ok = false;
                        stats.rxError(name + ": rx buffer: " + e.getMessage());
                    }
                }
                put16(rxRsp, 0, id);
                put16(rxRsp, 2, 0);
                put16(rxRsp, 4, s + 1 < slots ? NETRXF_MORE_DATA : 0);
                put16(rxRsp, 6, ok ? chunk : RSP_ERROR);
                rx.putResponse(rxRsp);
                pos += chunk;
            }
            if (ok) {
                stats.rxDelivered(length);
            }
            pushed = true;
        }
        if (pushed && rx.pushResponsesAndCheckNotify()) {
            evtchn.notifyRemote();
        }
    }

    static int u16(byte[] b, int o) {
        return (b[o] & 0xff) | ((b[o + 1] & 0xff) << 8);
    }

    static long u32(byte[] b, int o) {
        return (u16(b, o) | ((long) u16(b, o + 2) << 16)) & 0xffffffffL;
    }

    static void put16(byte[] b, int o, int v) {
        b[o] = (byte) v;
        b[o + 1] = (byte) (v >> 8);
    }
}
