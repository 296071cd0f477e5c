package org.xenj.dom0.block.internal.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.internal.FileIo;

/**
 * Guest offset to host cluster: the L1 table (held in memory, checked entry by entry at open) and
 * the L2 tables (cached). Decodes and checks each entry it hands out, so a corrupt pointer is a
 * {@link BlockImageException} at the request that meets it. Not thread-safe on its own; the image's
 * lock orders lookups and updates.
 */
final class ClusterMap {

    static final long COPIED = 1L << 63;
    static final long COMPRESSED = 1L << 62;
    static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    static final long L1_RESERVED = 0x7f00_0000_0000_01ffL;
    static final long L2_RESERVED = 0x3f00_0000_0000_01feL;
    static final long ZERO = 1L;

    /** What a guest cluster maps to. */
    enum Kind { UNALLOCATED, ZERO, NORMAL, COMPRESSED }

    private final FileChannel ch;
    private final String name;
    private final Qcow2Header h;
    private final int clusterBits;
    private final int l2Bits;
    private final long[] l1;
    /** Host offsets of the L2 tables L1 points to: data must never be written over them. */
    private final java.util.Set<Long> l2Offsets = new java.util.HashSet<>();
    final TableCache l2Tables;

    ClusterMap(FileChannel ch, String name, Qcow2Header h) throws IOException {
        this.ch = ch;
        this.name = name;
        this.h = h;
        this.clusterBits = h.clusterBits;
        this.l2Bits = clusterBits - 3;
        ByteBuffer b = ByteBuffer.allocate((int) h.l1Size * 8);
        FileIo.readZeroPadded(ch, b, h.l1Offset);
        b.flip();
        this.l1 = new long[(int) h.l1Size];
        b.asLongBuffer().get(l1);
        long fileSize = ch.size();
        for (int i = 0; i < l1.length; i++) {
            long e = l1[i];
            long off = e & OFFSET_MASK;
            if ((e & L1_RESERVED) != 0) {
                throw Qcow2Header.corrupt(name, "L1 entry " + i + " has reserved bits set (0x" + Long.toHexString(e) + ")");
            }
            if (off != 0 && (off % h.clusterSize() != 0 || off + h.clusterSize() > fileSize)) {
                throw Qcow2Header.corrupt(name, "L1 entry " + i + " points to an L2 table at 0x" + Long.toHexString(off)
                        + " that is unaligned or past the end of the file");
            }
            if (off != 0) {
                l2Offsets.add(off);
            }
        }
        this.l2Tables = new TableCache(ch, h.clusterSize(), 8L << 20);
    }

    int l1Index(long guestOffset) {
        return (int) (guestOffset >>> (clusterBits + l2Bits));
    }

    int l2Index(long guestOffset) {
        return (int) ((guestOffset >>> clusterBits) & ((1 << l2Bits) - 1));
    }

    long l1Entry(int index) {
        return l1[index];
    }

    /** The raw L2 entry for a guest offset; 0 when there is no L2 table. */
    long l2Entry(long guestOffset) throws IOException {
        long l2 = l1[l1Index(guestOffset)] & OFFSET_MASK;
        return l2 == 0 ? 0 : l2Tables.getLong(l2, l2Index(guestOffset));
    }

    Kind kind(long entry, long fileEnd) throws BlockImageException {
        if ((entry & COMPRESSED) != 0) {
            if ((entry & COPIED) != 0) {
                throw Qcow2Header.corrupt(name, "compressed cluster entry 0x" + Long.toHexString(entry) + " has the copied flag");
            }
            if (compressedOffset(entry) >= fileEnd) {
                throw Qcow2Header.corrupt(name, "compressed cluster at 0x" + Long.toHexString(compressedOffset(entry))
                        + " lies past the end of the file");
            }
            return Kind.COMPRESSED;
        }
        if ((entry & L2_RESERVED) != 0) {
            throw Qcow2Header.corrupt(name, "L2 entry 0x" + Long.toHexString(entry) + " has reserved bits set");
        }
        long off = entry & OFFSET_MASK;
        if ((entry & ZERO) != 0) {
            if (h.version < 3) {
                throw Qcow2Header.corrupt(name, "zero flag in a version 2 image (entry 0x" + Long.toHexString(entry) + ")");
            }
            return Kind.ZERO;
        }
        if (off == 0) {
            return Kind.UNALLOCATED;
        }
        if (off % h.clusterSize() != 0 || off >= fileEnd) {
            throw Qcow2Header.corrupt(name, "data cluster at 0x" + Long.toHexString(off)
                    + " is unaligned or past the end of the file");
        }
        return Kind.NORMAL;
    }

    /** What metadata of the mapping lies in the cluster at {@code hostOffset}, or {@code null}. */
    String metadataAt(long hostOffset) {
        long cs = h.clusterSize();
        if (hostOffset < cs) {
            return "the header";
        }
        if (hostOffset + cs > h.l1Offset && hostOffset < h.l1Offset + h.l1Size * 8) {
            return "the L1 table";
        }
        return l2Offsets.contains(hostOffset) ? "an L2 table" : null;
    }

    static long hostOffset(long entry) {
        return entry & OFFSET_MASK;
    }

    /** Bits of the host offset in a compressed descriptor: 62 - (cluster_bits - 8). */
    private int compressedOffsetBits() {
        return 62 - (clusterBits - 8);
    }

    long compressedOffset(long entry) {
        return entry & ((1L << compressedOffsetBits()) - 1);
    }

    /** Bytes of compressed data: the sector count field counts 512-byte sectors after the first. */
    int compressedLength(long entry) {
        int x = compressedOffsetBits();
        long sectors = ((entry & ~(COPIED | COMPRESSED)) >>> x) + 1;
        return (int) (sectors * 512 - (compressedOffset(entry) & 511));
    }

    /** Points L1 entry {@code index} at a new L2 table (already written and forced). */
    void setL1(int index, long value) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8);
        b.putLong(0, value);
        FileIo.writeFully(ch, b, h.l1Offset + index * 8L);
        l2Offsets.remove(l1[index] & OFFSET_MASK);
        l1[index] = value;
        l2Offsets.add(value & OFFSET_MASK);
    }
}
