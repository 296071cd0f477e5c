package org.xenj.hypervisor.internal.gnttab;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_APPLICATION_MAP;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_CONTAINS_PTE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_DEVICE_MAP;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_HOST_MAP;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_READONLY;

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
import java.util.List;
import java.util.Objects;

/**
 * One domain's grant table ({@link GrantTable#saveState}): its frames' bytes — the v1 entries
 * the guest wrote (flags, grantee, frame) with the status bits Xen keeps in them
 * ({@code GTF_reading}/{@code GTF_writing}) —, the active pins other domains hold on its entries,
 * and its own active maps of other domains' grants (maptrack: handle, granter, ref, flags, host
 * address). Machine frame numbers are not in it: they are found again on restore. Versioned
 * bytes; {@link #fromBytes} refuses another version or a damaged record with an
 * {@link IOException}; the constructors refuse what no table could hold.
 *
 * @param maxFrames the table's limit
 * @param frames    the frames set up so far, 4096 bytes each
 * @param pins      entries other domains have mapped, by ref
 * @param maps      this domain's mappings, by handle
 */
public record GrantTableState(int maxFrames, List<byte[]> frames, List<Pin> pins, List<Mapping> maps) {

    /** "XJGT". */
    public static final int MAGIC = 0x584a4754;
    public static final int VERSION = 1;
    static final int MAX_FRAMES = 1024;
    static final int FRAME = 4096;
    static final int MAPTRACK = 4096;
    static final int KNOWN_MAP_FLAGS = GNTMAP_DEVICE_MAP | GNTMAP_HOST_MAP | GNTMAP_READONLY | GNTMAP_APPLICATION_MAP
            | GNTMAP_CONTAINS_PTE;

    public GrantTableState {
        if (maxFrames < 1 || maxFrames > MAX_FRAMES || frames == null || frames.size() > maxFrames || pins == null || maps == null
                || frames.stream().anyMatch(f -> f == null || f.length != FRAME) || pins.stream().anyMatch(Objects::isNull)
                || maps.stream().anyMatch(Objects::isNull) || maps.size() > MAPTRACK) {
            throw new IllegalArgumentException("grant table state: " + (frames == null ? "no" : frames.size()) + " frames of at most "
                    + maxFrames);
        }
        frames = frames.stream().map(byte[]::clone).toList();
        pins = List.copyOf(pins);
        maps = List.copyOf(maps);
        int entries = frames.size() * GrantTable.ENTRIES_PER_FRAME;
        int last = -1;
        for (Pin p : pins) {
            if (p.ref <= last || p.ref >= entries) {
                throw new IllegalArgumentException("grant table state: pin of ref " + p.ref + " (out of order or past " + entries
                        + " entries)");
            }
            last = p.ref;
        }
        last = -1;
        for (Mapping m : maps) {
            if (m.handle <= last) {
                throw new IllegalArgumentException("grant table state: handle " + m.handle + " out of order or twice");
            }
            last = m.handle;
        }
    }

    /**
     * Active uses of one entry of this (granting) domain.
     *
     * @param ref     the entry
     * @param readers read-only mappings of it
     * @param writers writable mappings of it
     */
    public record Pin(int ref, int readers, int writers) {

        public Pin {
            if (ref < 0 || readers < 0 || writers < 0 || readers > MAPTRACK * 0x7ff0 || writers > MAPTRACK * 0x7ff0
                    || readers + writers == 0) {
                throw new IllegalArgumentException("grant pin of ref " + ref + ": " + readers + " readers, " + writers + " writers");
            }
        }
    }

    /**
     * One mapping this domain holds.
     *
     * @param handle   its grant handle
     * @param granter  the granting domain
     * @param ref      the granter's entry
     * @param flags    GNTMAP_* as mapped (host and/or device, read-only)
     * @param hostAddr where it was mapped
     */
    public record Mapping(int handle, int granter, int ref, int flags, long hostAddr) {

        public Mapping {
            if (handle < 0 || handle >= MAPTRACK || granter < 0 || granter > 0x7fef || ref < 0
                    || ref >= MAX_FRAMES * GrantTable.ENTRIES_PER_FRAME || (flags & ~KNOWN_MAP_FLAGS) != 0
                    || (flags & (GNTMAP_HOST_MAP | GNTMAP_DEVICE_MAP)) == 0) {
                throw new IllegalArgumentException("grant mapping " + handle + ": d" + granter + " ref " + ref + ", flags 0x"
                        + Integer.toHexString(flags));
            }
        }

        boolean readOnly() {
            return (flags & GNTMAP_READONLY) != 0;
        }
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64 + frames.size() * FRAME);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static GrantTableState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        GrantTableState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("grant table state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("grant table state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeShort(maxFrames);
        out.writeShort(frames.size());
        for (byte[] f : frames) {
            out.write(f);
        }
        out.writeInt(pins.size());
        for (Pin p : pins) {
            out.writeInt(p.ref);
            out.writeInt(p.readers);
            out.writeInt(p.writers);
        }
        out.writeShort(maps.size());
        for (Mapping m : maps) {
            out.writeShort(m.handle);
            out.writeShort(m.granter);
            out.writeInt(m.ref);
            out.writeByte(m.flags);
            out.writeLong(m.hostAddr);
        }
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static GrantTableState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a grant table state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("grant table state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        int maxFrames = in.readUnsignedShort();
        int nr = in.readUnsignedShort();
        if (nr > MAX_FRAMES) {
            throw new IOException("grant table state record is damaged: " + nr + " frames");
        }
        List<byte[]> frames = new ArrayList<>(nr);
        for (int i = 0; i < nr; i++) {
            byte[] f = new byte[FRAME];
            in.readFully(f);
            frames.add(f);
        }
        int np = in.readInt();
        if (np < 0 || np > nr * GrantTable.ENTRIES_PER_FRAME) {
            throw new IOException("grant table state record is damaged: " + np + " pinned entries");
        }
        try {
            List<Pin> pins = new ArrayList<>(np);
            for (int i = 0; i < np; i++) {
                pins.add(new Pin(in.readInt(), in.readInt(), in.readInt()));
            }
            int nm = in.readUnsignedShort();
            List<Mapping> maps = new ArrayList<>(nm);
            for (int i = 0; i < nm; i++) {
                maps.add(new Mapping(in.readUnsignedShort(), in.readUnsignedShort(), in.readInt(), in.readUnsignedByte(),
                        in.readLong()));
            }
            return new GrantTableState(maxFrames, frames, pins, maps);
        } catch (IllegalArgumentException e) {
            throw new IOException("grant table state record is damaged: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GrantTableState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
