package org.xenj.dom0.blkback.internal;

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
import java.util.Set;

import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.hypervisor.spi.backend.XenbusState;

/**
 * Everything blkback knows of one domain's virtual block devices, taken quiesced (no request
 * taken and unanswered): per vbd its disk spec, both xenbus states, what was offered to the
 * frontend, and — while connected — the ring (protocol, grant references of its pages, the
 * frontend's event channel port, blkback's private ring indices) and the counters. What the
 * hand-over gives the next blkback (and save/restore will keep). Versioned bytes;
 * {@link #fromBytes} refuses another version or a damaged record with an {@link IOException}, and
 * the constructors refuse what no blkback could have held.
 *
 * @param vbds the devices, at most {@link #MAX_VBDS}, device ids distinct (kept in device id order)
 */
public record BlkbackState(List<Vbd> vbds) {

    /** "XJBB". */
    public static final int MAGIC = 0x584a4242;
    public static final int VERSION = 1;
    static final int MAX_VBDS = 256;
    static final int MAX_SPEC_LENGTH = 4096;
    /** Largest ring order a record may name (Xen's blkif allows up to 2^XENBUS_MAX_RING_GRANT_ORDER pages). */
    static final int MAX_ORDER = 8;
    static final int MAX_PORT = 1 << 17;

    public BlkbackState {
        if (vbds == null || vbds.size() > MAX_VBDS || vbds.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("blkback state: " + (vbds == null ? "no" : vbds.size()) + " devices");
        }
        // by device id, as blkback keeps them: one record per state
        vbds = vbds.stream().sorted(java.util.Comparator.comparingInt(Vbd::devid)).toList();
        Set<Integer> ids = new HashSet<>();
        for (Vbd v : vbds) {
            if (!ids.add(v.devid())) {
                throw new IllegalArgumentException("blkback state: device " + v.devid() + " twice");
            }
        }
    }

    /**
     * What the backend offered the frontend in xenstore; a successor must offer at least as much.
     *
     * @param maxRingPageOrder    {@code max-ring-page-order}
     * @param maxIndirectSegments {@code feature-max-indirect-segments}
     * @param flushCache          {@code feature-flush-cache}
     * @param barrier             {@code feature-barrier}
     * @param discard             {@code feature-discard}
     */
    public record Features(int maxRingPageOrder, int maxIndirectSegments, boolean flushCache, boolean barrier, boolean discard) {

        public Features {
            if (maxRingPageOrder < 0 || maxRingPageOrder > MAX_ORDER || maxIndirectSegments < 0 || maxIndirectSegments > 4096) {
                throw new IllegalArgumentException("blkback features: ring order " + maxRingPageOrder + ", indirect segments "
                        + maxIndirectSegments);
            }
        }

        /** What this blkback offers for a disk. */
        static Features offered(boolean readOnly) {
            return new Features(Blkif.MAX_RING_PAGE_ORDER, Blkif.MAX_INDIRECT_SEGMENTS, true, true, !readOnly);
        }

        /** Whether {@code ours} honours every promise of this record. */
        boolean honouredBy(Features ours) {
            return maxRingPageOrder <= ours.maxRingPageOrder && maxIndirectSegments <= ours.maxIndirectSegments
                    && (!flushCache || ours.flushCache) && (!barrier || ours.barrier) && (!discard || ours.discard);
        }
    }

    /**
     * A connected ring, quiesced: every request consumed has been answered and pushed.
     *
     * @param protocol          the frontend's {@code protocol} ({@code x86_32-abi}, {@code x86_64-abi})
     * @param refs              grant references of the ring pages (a power of two of them)
     * @param remotePort        the frontend's event channel port
     * @param requestsConsumed  blkback's {@code req_cons}
     * @param responsesProduced blkback's {@code rsp_prod_pvt} (equal: nothing in flight)
     * @param served            requests answered OKAY so far
     * @param failed            requests refused or failed so far
     * @param unsupported       requests of an operation not offered
     */
    public record Ring(String protocol, List<Integer> refs, int remotePort, int requestsConsumed, int responsesProduced,
            long served, long failed, long unsupported) {

        public Ring {
            if (protocol == null || protocol.isEmpty() || BlkifAbi.ofProtocol(protocol) == null) {
                throw new IllegalArgumentException("blkback ring: protocol '" + protocol + "'");
            }
            if (refs == null || refs.isEmpty() || refs.size() > 1 << MAX_ORDER || Integer.bitCount(refs.size()) != 1
                    || refs.stream().anyMatch(java.util.Objects::isNull)) {
                throw new IllegalArgumentException("blkback ring: " + (refs == null ? "no" : refs.size()) + " ring pages");
            }
            refs = List.copyOf(refs);
            if (new HashSet<>(refs).size() != refs.size()) {
                throw new IllegalArgumentException("blkback ring: a page twice in " + refs);
            }
            if (remotePort <= 0 || remotePort >= MAX_PORT) {
                throw new IllegalArgumentException("blkback ring: event channel port " + remotePort);
            }
            if (requestsConsumed != responsesProduced) {
                throw new IllegalArgumentException("blkback ring: taken with " + Integer.toUnsignedString(requestsConsumed
                        - responsesProduced) + " requests unanswered (not quiesced)");
            }
            if (served < 0 || failed < 0 || unsupported < 0) {
                throw new IllegalArgumentException("blkback ring: negative counter");
            }
        }

        int order() {
            return Integer.numberOfTrailingZeros(refs.size());
        }

        BlkifAbi abi() {
            return BlkifAbi.ofProtocol(protocol);
        }
    }

    /**
     * One virtual block device.
     *
     * @param spec          its disk spec as xl writes it ({@link DiskSpec#toSpecString})
     * @param backendState  the backend's xenbus state
     * @param frontendState the frontend's xenbus state as the backend last acted on it
     * @param removing      a hot-unplug waits for the frontend to close
     * @param features      what was offered in the backend directory
     * @param ring          the connection, null while not connected
     */
    public record Vbd(String spec, int backendState, int frontendState, boolean removing, Features features, Ring ring) {

        public Vbd {
            if (spec == null || spec.isEmpty() || spec.length() > MAX_SPEC_LENGTH) {
                throw new IllegalArgumentException("blkback vbd: disk spec missing or too long");
            }
            DiskSpec parsed;
            try {
                parsed = DiskSpec.parse(spec);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("blkback vbd: disk spec '" + spec + "': " + e.getMessage(), e);
            }
            spec = parsed.toSpecString(); // one spelling per disk: a record reads back as it was written
            if (backendState < 1 || backendState > 6 || XenbusState.of(backendState).value() != backendState) {
                throw new IllegalArgumentException("blkback vbd: backend state " + backendState);
            }
            if (XenbusState.of(frontendState).value() != frontendState) {
                throw new IllegalArgumentException("blkback vbd: frontend state " + frontendState);
            }
            if (features == null) {
                throw new IllegalArgumentException("blkback vbd: no features");
            }
            if (features.discard && parsed.readOnly()) {
                throw new IllegalArgumentException("blkback vbd: discard offered on a read-only disk");
            }
            if (ring != null && (backendState != XenbusState.CONNECTED.value() || ring.order() > features.maxRingPageOrder)) {
                throw new IllegalArgumentException("blkback vbd: a ring of order " + ring.order() + " in backend state "
                        + backendState + " (offered order " + features.maxRingPageOrder + ")");
            }
        }

        DiskSpec diskSpec() {
            return DiskSpec.parse(spec);
        }

        int devid() {
            return diskSpec().deviceNumber();
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

    public static BlkbackState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        BlkbackState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("blkback state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("blkback state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeShort(vbds.size());
        for (Vbd v : vbds) {
            out.writeUTF(v.spec);
            out.writeByte(v.backendState);
            out.writeByte(v.frontendState);
            Features f = v.features;
            out.writeByte(f.maxRingPageOrder);
            out.writeShort(f.maxIndirectSegments);
            out.writeByte(bits(v.removing, f.flushCache, f.barrier, f.discard, v.ring != null));
            Ring r = v.ring;
            if (r != null) {
                out.writeUTF(r.protocol);
                out.writeShort(r.refs.size());
                for (int ref : r.refs) {
                    out.writeInt(ref);
                }
                out.writeInt(r.remotePort);
                out.writeInt(r.requestsConsumed);
                out.writeInt(r.responsesProduced);
                out.writeLong(r.served);
                out.writeLong(r.failed);
                out.writeLong(r.unsupported);
            }
        }
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static BlkbackState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a blkback state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("blkback state version " + version + " is not supported (this blkback reads " + VERSION + ")");
        }
        int n = in.readUnsignedShort();
        if (n > MAX_VBDS) {
            throw new IOException("blkback state record is damaged: " + n + " devices");
        }
        List<Vbd> vbds = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                String spec = in.readUTF();
                int backendState = in.readUnsignedByte();
                int frontendState = in.readUnsignedByte();
                int order = in.readUnsignedByte();
                int indirect = in.readUnsignedShort();
                int flags = in.readUnsignedByte();
                if ((flags & ~0x1f) != 0) {
                    throw new IOException("blkback state record is damaged: unknown flag bits 0x" + Integer.toHexString(flags));
                }
                Ring ring = null;
                if (on(flags, 4)) {
                    String protocol = in.readUTF();
                    int pages = in.readUnsignedShort();
                    if (pages > 1 << MAX_ORDER) {
                        throw new IOException("blkback state record is damaged: " + pages + " ring pages");
                    }
                    List<Integer> refs = new ArrayList<>(pages);
                    for (int p = 0; p < pages; p++) {
                        refs.add(in.readInt());
                    }
                    ring = new Ring(protocol, refs, in.readInt(), in.readInt(), in.readInt(), in.readLong(), in.readLong(),
                            in.readLong());
                }
                vbds.add(new Vbd(spec, backendState, frontendState, on(flags, 0),
                        new Features(order, indirect, on(flags, 1), on(flags, 2), on(flags, 3)), ring));
            }
            return new BlkbackState(vbds);
        } catch (IllegalArgumentException e) {
            throw new IOException("blkback state record is damaged: " + e.getMessage(), e);
        }
    }

    private static int bits(boolean... flags) {
        int v = 0;
        for (int i = 0; i < flags.length; i++) {
            v |= flags[i] ? 1 << i : 0;
        }
        return v;
    }

    private static boolean on(int bits, int i) {
        return (bits & 1 << i) != 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlkbackState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
