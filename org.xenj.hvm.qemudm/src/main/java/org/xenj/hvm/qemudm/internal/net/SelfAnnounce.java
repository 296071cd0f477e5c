package org.xenj.hvm.qemudm.internal.net;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.xenj.dom0.vswitch.api.Port;

/**
 * The self-announce of an emulated NIC whose guest now runs on this host (after an incoming live
 * migration or a restore): the guest does not know it moved, so it sends nothing that would tell a
 * learning bridge its address changed port. As QEMU does for its emulated NICs, the host sends on
 * the guest's behalf a few RARP requests (EtherType 0x8035, opcode 3 "reverse request") with the
 * guest's MAC as Ethernet source, to the broadcast address, through the NIC's switch port: every
 * learning bridge on the way (this switch, a Linux bridge behind its TAP, a physical switch) moves
 * the MAC to the port it came in on. RARP, not ARP, because the host does not know the guest's IP
 * address. The frame is 60 bytes (the Ethernet minimum without FCS): header, the 28-byte RARP
 * body with sender and target hardware address the MAC and both protocol addresses 0, zero padding.
 *
 * <p>Spacing as QEMU's migration defaults (announce-initial 50 ms, -step 100 ms, -rounds 5,
 * -max 550 ms): the first frame at once, then gaps of 50, 150, 250, 350 ms (0, 50, 200, 450, 800 ms
 * after the start), so that a frame lost while a link or a bridge on the way is still settling is
 * made up for. Timed by the host's clock (QEMU's realtime clock), not the guest's: the frames go out
 * also when the domain is left paused.
 */
public final class SelfAnnounce {

    /** RARP, as QEMU's announce frames. */
    public static final int ETHERTYPE_RARP = 0x8035;
    /** RARP's "reverse request". */
    public static final int OP_REVERSE_REQUEST = 3;
    /** The frame's length: Ethernet's minimum without the FCS. */
    public static final int LENGTH = 60;
    /** The gaps before the 2nd … 5th frame, in ms (QEMU: initial + k × step, at most max). */
    static final long[] GAPS_MS = {50, 150, 250, 350};

    /**
     * One shared timer thread for every NIC's announce: it sends a handful of frames after a
     * migration and sleeps otherwise, so it goes away when idle (no thread kept for a stopped bundle).
     */
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private SelfAnnounce() {
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "qemu-dm-announce");
            th.setDaemon(true);
            return th;
        });
        t.setKeepAliveTime(5, TimeUnit.SECONDS);
        t.allowCoreThreadTimeOut(true);
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    /** The announce frame for {@code mac}: broadcast, from the MAC, a RARP reverse request naming it. */
    public static byte[] frame(byte[] mac) {
        if (mac.length != 6) {
            throw new IllegalArgumentException("a MAC has 6 bytes, not " + mac.length);
        }
        byte[] f = new byte[LENGTH];
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) 0xff;
        }
        System.arraycopy(mac, 0, f, 6, 6);
        put16(f, 12, ETHERTYPE_RARP);
        put16(f, 14, 1); // hardware type: Ethernet
        put16(f, 16, 0x0800); // protocol type: IPv4
        f[18] = 6; // hardware address length
        f[19] = 4; // protocol address length
        put16(f, 20, OP_REVERSE_REQUEST);
        System.arraycopy(mac, 0, f, 22, 6); // sender hardware address; sender IP 0.0.0.0 (28..31)
        System.arraycopy(mac, 0, f, 32, 6); // target hardware address; target IP 0.0.0.0 (38..41); padding 42..59
        return f;
    }

    /**
     * Sends the five frames for {@code mac} through {@code port}, all on the shared timer, the first
     * at once: the caller (an arriving domain's last step before the source hears "running") does
     * not wait for it. A cold first send (the switch's and the TAP's paths, the timer's thread) took
     * 21-22 ms of the host-side downtime of a JVM's first incoming migration on the caller's thread;
     * QEMU's announce too runs from a timer after the guest runs. Stops early when the port closes
     * (the NIC detached: a hand-over, the domain destroyed). {@code firstSent} runs on the timer
     * once the first frame is out (the caller's log line: writing it is not free either). Returns
     * whether the frames were started (false: the port is closed).
     */
    public static boolean start(Port port, byte[] mac, Runnable firstSent) {
        if (!port.isOpen()) {
            return false;
        }
        byte[] m = mac.clone();
        frame(m); // a wrong MAC fails the caller here, not the timer
        send(port, m, -1, 0, firstSent);
        return true;
    }

    /** Sends frame {@code round + 1} after {@code delayMs}; the next one follows after its gap. */
    private static void send(Port port, byte[] mac, int round, long delayMs, Runnable sent) {
        TIMER.schedule(() -> {
            // a fresh array each time: the switch takes the frame over and may still hold the previous one
            if (!port.isOpen() || !port.send(frame(mac), LENGTH)) {
                return;
            }
            if (sent != null) {
                sent.run();
            }
            int next = round + 1;
            if (next < GAPS_MS.length) {
                send(port, mac, next, GAPS_MS[next], null);
            }
        }, delayMs, TimeUnit.MILLISECONDS);
    }

    private static void put16(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
    }
}
