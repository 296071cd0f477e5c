package org.xenj.dom0.netback.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import org.xenj.dom0.vswitch.api.VifSpec;

/**
 * Everything netback knows of one domain's vifs, taken quiesced (every slot it took from either
 * ring answered and pushed): per vif its device id, address, bridge and MTU, a pending hot-unplug,
 * why a connection was refused, the counters, and — while connected — both rings (grant
 * references, netback's private indices), the frontend's event channel port, the negotiated
 * scatter-gather receive path, a tx fragment chain being discarded across turns, and the frames
 * from the switch still waiting for rx buffers. What the hand-over gives the next netback (and
 * save/restore will keep). Versioned bytes; {@link #fromBytes} refuses another version or a
 * damaged record with an {@link IOException}; the constructors refuse what no netback could hold.
 *
 * @param vifs the devices, device ids distinct (kept in device id order)
 */
public record NetbackState(List<VifRecord> vifs) {

    /** "XJNB". */
    public static final int MAGIC = 0x584a4e42;
    public static final int VERSION = 1;
    static final int MAX_VIFS = 256;
    static final int MAX_TEXT = 1024;
    static final int MAX_PORT = 1 << 17;

    public NetbackState {
        if (vifs == null || vifs.size() > MAX_VIFS || vifs.stream().anyMatch(Objects::isNull)) {
            throw new IllegalArgumentException("netback state: " + (vifs == null ? "no" : vifs.size()) + " vifs");
        }
        // by device id, as netback keeps them: one record per state
        vifs = vifs.stream().sorted(java.util.Comparator.comparingInt(VifRecord::devid)).toList();
        Set<Integer> ids = new HashSet<>();
        Set<Long> macs = new HashSet<>();
        for (VifRecord v : vifs) {
            if (!ids.add(v.devid) || !macs.add(v.mac)) {
                throw new IllegalArgumentException("netback state: vif" + v.devid + " or its MAC twice");
            }
        }
    }

    /** Frames and bytes each way, and the refusals (as {@link VifStats} counts them). */
    public record Counters(long txFrames, long txBytes, long txErrors, long txDropped, long rxFrames, long rxBytes, long rxErrors,
            long rxDropped) {

        public Counters {
            if ((txFrames | txBytes | txErrors | txDropped | rxFrames | rxBytes | rxErrors | rxDropped) < 0) {
                throw new IllegalArgumentException("netback vif: negative counter");
            }
        }
    }

    /**
     * A connected vif's rings, quiesced.
     *
     * @param txRef            grant of the tx ring page
     * @param rxRef            grant of the rx ring page
     * @param remotePort       the frontend's event channel port
     * @param frontendSg       the frontend asked for {@code feature-sg} (frames over a page span rx slots)
     * @param txConsumed       netback's tx {@code req_cons}
     * @param txProduced       netback's tx {@code rsp_prod_pvt} (equal: nothing unanswered)
     * @param rxConsumed       rx {@code req_cons}
     * @param rxProduced       rx {@code rsp_prod_pvt} (equal)
     * @param discardingChain  an over-long tx fragment chain is being answered with errors up to its last slot
     * @param backlog          frames from the switch waiting for rx buffers, oldest first
     */
    public record Rings(int txRef, int rxRef, int remotePort, boolean frontendSg, int txConsumed, int txProduced, int rxConsumed,
            int rxProduced, boolean discardingChain, List<byte[]> backlog) {

        public Rings {
            if (remotePort <= 0 || remotePort >= MAX_PORT) {
                throw new IllegalArgumentException("netback rings: event channel port " + remotePort);
            }
            if (txRef == rxRef) {
                throw new IllegalArgumentException("netback rings: tx and rx ring on one page (grant " + txRef + ")");
            }
            if (txConsumed != txProduced || rxConsumed != rxProduced) {
                throw new IllegalArgumentException("netback rings: taken with requests unanswered (not quiesced)");
            }
            if (backlog == null || backlog.size() > VifRings.RX_BACKLOG || backlog.stream().anyMatch(Objects::isNull)) {
                throw new IllegalArgumentException("netback rings: rx backlog of " + (backlog == null ? "no" : backlog.size())
                        + " frames");
            }
            backlog = backlog.stream().map(byte[]::clone).toList();
        }
    }

    /**
     * One vif.
     *
     * @param devid    device id ({@code vif/<devid>})
     * @param mac      its address (low 48 bits, unicast)
     * @param bridge   the bridge its port joins
     * @param mtu      its MTU
     * @param removing a hot-unplug waits for the frontend to close
     * @param refused  why the last connection was refused or ended, or null
     * @param counters what it carried
     * @param rings    the connection, null while not connected
     */
    public record VifRecord(int devid, long mac, String bridge, int mtu, boolean removing, String refused, Counters counters,
            Rings rings) {

        public VifRecord {
            if (devid < 0 || devid >= 4096) {
                throw new IllegalArgumentException("netback vif: device id " + devid);
            }
            if (mac == 0 || (mac & ~0xffff_ffff_ffffL) != 0 || (mac & 1L << 40) != 0) {
                throw new IllegalArgumentException("netback vif" + devid + ": MAC 0x" + Long.toHexString(mac) + " is not unicast");
            }
            if (bridge == null || !bridge.matches("[A-Za-z0-9._-]{1,15}")) {
                throw new IllegalArgumentException("netback vif" + devid + ": bridge '" + bridge + "'");
            }
            if (mtu < 68 || mtu > 65535 - 18) {
                throw new IllegalArgumentException("netback vif" + devid + ": MTU " + mtu);
            }
            if (refused != null && refused.length() > MAX_TEXT || counters == null) {
                throw new IllegalArgumentException("netback vif" + devid + ": reason too long or no counters");
            }
            if (rings != null) {
                for (byte[] f : rings.backlog) {
                    if (f.length == 0 || f.length > mtu + 18 || !rings.frontendSg && f.length > VifRings.PAGE) {
                        throw new IllegalArgumentException("netback vif" + devid + ": a waiting frame of " + f.length
                                + " bytes (MTU " + mtu + (rings.frontendSg ? ", sg" : ", no sg") + ")");
                    }
                }
            }
        }

        VifSpec spec() {
            return new VifSpec(mac, bridge, mtu, VifSpec.RTL8139, false);
        }
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static NetbackState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        NetbackState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("netback state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("netback state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeShort(vifs.size());
        for (VifRecord v : vifs) {
            out.writeShort(v.devid);
            out.writeLong(v.mac);
            out.writeUTF(v.bridge);
            out.writeShort(v.mtu);
            Rings r = v.rings;
            out.writeByte((v.removing ? 1 : 0) | (v.refused != null ? 2 : 0) | (r != null ? 4 : 0)
                    | (r != null && r.frontendSg ? 8 : 0) | (r != null && r.discardingChain ? 16 : 0));
            if (v.refused != null) {
                out.writeUTF(v.refused);
            }
            Counters c = v.counters;
            for (long x : new long[] {c.txFrames, c.txBytes, c.txErrors, c.txDropped, c.rxFrames, c.rxBytes, c.rxErrors,
                c.rxDropped}) {
                out.writeLong(x);
            }
            if (r != null) {
                out.writeInt(r.txRef);
                out.writeInt(r.rxRef);
                out.writeInt(r.remotePort);
                out.writeInt(r.txConsumed);
                out.writeInt(r.txProduced);
                out.writeInt(r.rxConsumed);
                out.writeInt(r.rxProduced);
                out.writeShort(r.backlog.size());
                for (byte[] f : r.backlog) {
                    out.writeShort(f.length);
                    out.write(f);
                }
            }
        }
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static NetbackState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a netback state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("netback state version " + version + " is not supported (this netback reads " + VERSION + ")");
        }
        int n = in.readUnsignedShort();
        if (n > MAX_VIFS) {
            throw new IOException("netback state record is damaged: " + n + " vifs");
        }
        List<VifRecord> vifs = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                int devid = in.readUnsignedShort();
                long mac = in.readLong();
                String bridge = in.readUTF();
                int mtu = in.readUnsignedShort();
                int flags = in.readUnsignedByte();
                if ((flags & ~0x1f) != 0 || (flags & 4) == 0 && (flags & 0x18) != 0) {
                    throw new IOException("netback state record is damaged: flag bits 0x" + Integer.toHexString(flags));
                }
                String refused = (flags & 2) != 0 ? in.readUTF() : null;
                Counters c = new Counters(in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readLong(),
                        in.readLong(), in.readLong());
                Rings r = null;
                if ((flags & 4) != 0) {
                    int txRef = in.readInt(), rxRef = in.readInt(), port = in.readInt();
                    int txc = in.readInt(), txp = in.readInt(), rxc = in.readInt(), rxp = in.readInt();
                    int frames = in.readUnsignedShort();
                    if (frames > VifRings.RX_BACKLOG) {
                        throw new IOException("netback state record is damaged: " + frames + " waiting frames");
                    }
                    List<byte[]> backlog = new ArrayList<>(frames);
                    for (int k = 0; k < frames; k++) {
                        byte[] f = new byte[in.readUnsignedShort()];
                        in.readFully(f);
                        backlog.add(f);
                    }
                    r = new Rings(txRef, rxRef, port, (flags & 8) != 0, txc, txp, rxc, rxp, (flags & 16) != 0, backlog);
                }
                vifs.add(new VifRecord(devid, mac, bridge, mtu, (flags & 1) != 0, refused, c, r));
            }
            return new NetbackState(vifs);
        } catch (IllegalArgumentException e) {
            throw new IOException("netback state record is damaged: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NetbackState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
