package org.xenj.dom0.block.internal.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.internal.FileIo;

/**
 * The refcount table and blocks, and the cluster allocator on top of them. Not thread-safe: the
 * image calls it under its write lock.
 *
 * <p>Allocation is append-only: clusters come from the end of the file, never from holes left by
 * freed clusters, so a cluster is never reused while some stale pointer could still reach it.
 * Clusters are reserved in batches — their refcounts written and forced to disk before any of
 * them is handed out — so every pointer later written to a reserved cluster points at a cluster
 * whose refcount is already durable (a crash leaks the unused rest of a batch, never more).
 * Growing the refcount table writes the new table and the blocks covering it at the end of the
 * file, forces, then switches the header to it in one 12-byte write, forces, and only then frees
 * the old table.
 */
final class Refcounts {

    private static final int BATCH = 16;
    private static final long REFTABLE_RESERVED = 0x1ffL;

    private final FileChannel ch;
    private final String name;
    private final int clusterBits;
    private final int clusterSize;
    private final int bits;
    private final int entriesPerBlockBits;
    private final long maxRefcount;
    private final TableCache blocks;
    private long tableOffset;
    private long[] table;
    private long fileEnd;
    private long nextFree;
    private final ArrayDeque<Long> reserved = new ArrayDeque<>();
    /** Whether {@link #nextFree} has been checked against the refcounts past the end of the file. */
    private boolean endScanned;
    /** Host offsets of the refcount blocks: data must never be written over them. */
    private final java.util.Set<Long> blockOffsets = new java.util.HashSet<>();

    Refcounts(FileChannel ch, String name, Qcow2Header h) throws IOException {
        this.ch = ch;
        this.name = name;
        this.clusterBits = h.clusterBits;
        this.clusterSize = h.clusterSize();
        this.bits = 1 << h.refcountOrder;
        this.entriesPerBlockBits = clusterBits + 3 - h.refcountOrder;
        this.maxRefcount = bits == 64 ? Long.MAX_VALUE : (1L << bits) - 1;
        this.blocks = new TableCache(ch, clusterSize, 4L << 20);
        this.tableOffset = h.refTableOffset;
        this.table = readTable(h.refTableOffset, (int) (h.refTableClusters * clusterSize / 8));
        for (long e : table) {
            if (e != 0) {
                blockOffsets.add(e & ~REFTABLE_RESERVED);
            }
        }
        this.fileEnd = ch.size();
        this.nextFree = (fileEnd + clusterSize - 1) >>> clusterBits;
    }

    private long[] readTable(long offset, int entries) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(entries * 8);
        FileIo.readZeroPadded(ch, b, offset);
        long[] t = new long[entries];
        b.flip();
        b.asLongBuffer().get(t);
        return t;
    }

    /** Bytes of file in use, counting reserved clusters: what lies beyond is not part of the image. */
    long fileEnd() {
        return fileEnd;
    }

    /** What refcount metadata lies in the cluster at {@code hostOffset}, or {@code null}. */
    String metadataAt(long hostOffset) {
        if (hostOffset + clusterSize > tableOffset && hostOffset < tableOffset + table.length * 8L) {
            return "the refcount table";
        }
        return blockOffsets.contains(hostOffset) ? "a refcount block" : null;
    }

    long get(long cluster) throws IOException {
        long blockIndex = cluster >>> entriesPerBlockBits;
        if (blockIndex >= table.length) {
            return 0;
        }
        long blockOffset = blockOffset(blockIndex);
        if (blockOffset == 0) {
            return 0;
        }
        return read(blocks.get(blockOffset), (int) (cluster & ((1L << entriesPerBlockBits) - 1)));
    }

    private long blockOffset(long blockIndex) throws BlockImageException {
        long e = table[(int) blockIndex];
        if ((e & REFTABLE_RESERVED) != 0) {
            throw Qcow2Header.corrupt(name, "refcount table entry " + blockIndex + " has reserved bits set");
        }
        if (e != 0 && (e % clusterSize != 0 || e < 0 || e >= fileEnd)) {
            throw Qcow2Header.corrupt(name, "refcount block " + blockIndex + " at 0x" + Long.toHexString(e)
                    + " is unaligned or past the end of the file");
        }
        return e;
    }

    /** Adds {@code delta} (+1 or -1) to a cluster's refcount; the block must exist. */
    void add(long cluster, int delta) throws IOException {
        long blockIndex = cluster >>> entriesPerBlockBits;
        long blockOffset = blockIndex < table.length ? blockOffset(blockIndex) : 0;
        if (blockOffset == 0) {
            throw Qcow2Header.corrupt(name, "cluster 0x" + Long.toHexString(cluster << clusterBits)
                    + " has no refcount block");
        }
        byte[] block = blocks.get(blockOffset);
        int index = (int) (cluster & ((1L << entriesPerBlockBits) - 1));
        long current = read(block, index);
        if (delta > 0 && current >= maxRefcount) {
            throw Qcow2Header.corrupt(name, "refcount of cluster 0x" + Long.toHexString(cluster << clusterBits)
                    + " overflows " + bits + " bits");
        }
        long v = current + delta;
        if (v < 0) {
            throw Qcow2Header.corrupt(name, "refcount of cluster 0x" + Long.toHexString(cluster << clusterBits)
                    + " would drop below zero");
        }
        if (v > maxRefcount) {
            throw Qcow2Header.corrupt(name, "refcount of cluster 0x" + Long.toHexString(cluster << clusterBits)
                    + " overflows " + bits + " bits");
        }
        write(block, index, v);
        blocks.putAndWrite(blockOffset, block);
    }

    /** A cluster whose refcount of 1 is already on disk. */
    long allocate() throws IOException {
        if (reserved.isEmpty()) {
            reserve(BATCH);
        }
        return reserved.poll() << clusterBits;
    }

    /** Gives back unused reserved clusters (on close) and trims them off the end of the file. */
    void releaseReserved() throws IOException {
        if (reserved.isEmpty()) {
            return;
        }
        List<Long> unused = new ArrayList<>(reserved);
        reserved.clear();
        for (long c : unused) {
            add(c, -1);
        }
        ch.force(true);
        unused.sort(null);
        long end = nextFree;
        for (int i = unused.size() - 1; i >= 0 && unused.get(i) == end - 1; i--) {
            end--;
        }
        if (end < nextFree) {
            nextFree = end;
            fileEnd = Math.min(fileEnd, end << clusterBits);
            ch.truncate(fileEnd);
        }
    }

    private void reserve(int n) throws IOException {
        if (!endScanned) {
            // A writer killed after writing a batch's refcounts but before the file grew over the
            // batch leaves refcount 1 on clusters past the end of the file. Appending from the end
            // would hand them out again and count them twice (refcount 2, one reference: corrupt
            // for qemu-img check). So the first allocation starts after the last counted cluster.
            endScanned = true;
            nextFree = Math.max(nextFree, lastCountedCluster() + 1);
        }
        long start = nextFree;
        int newBlocks = 0;
        int newTableClusters = 0;
        int newTableEntries = table.length;
        for (int round = 0; ; round++) {
            long total = n + newBlocks + newTableClusters;
            long last = start + total - 1;
            long firstBlock = start >>> entriesPerBlockBits;
            long lastBlock = last >>> entriesPerBlockBits;
            int missing = 0;
            for (long bi = firstBlock; bi <= lastBlock; bi++) {
                if (bi >= table.length || table[(int) bi] == 0) {
                    missing++;
                }
            }
            int entries = table.length;
            int clustersForTable = 0;
            if (lastBlock >= table.length) {
                long want = Math.max(lastBlock + 1, table.length * 2L);
                clustersForTable = (int) ((want * 8 + clusterSize - 1) / clusterSize);
                entries = clustersForTable * (clusterSize / 8);
                if ((long) clustersForTable * clusterSize > Qcow2Header.MAX_REFTABLE_BYTES) {
                    throw new BlockImageException(name + ": image too large: refcount table would exceed "
                            + Qcow2Header.MAX_REFTABLE_BYTES + " bytes");
                }
            }
            if (missing == newBlocks && clustersForTable == newTableClusters) {
                newTableEntries = entries;
                break;
            }
            if (round > 64) {
                throw new BlockImageException(name + ": refcount layout does not converge");
            }
            newBlocks = missing;
            newTableClusters = clustersForTable;
        }
        long total = n + newBlocks + newTableClusters;
        long end = start + total;
        long[] newTable = newTableClusters > 0 ? java.util.Arrays.copyOf(table, newTableEntries) : table;
        // 1. New refcount blocks (after the data clusters), each counting whatever of the new area it covers.
        long blockCluster = start + n;
        List<long[]> created = new ArrayList<>();
        for (long bi = start >>> entriesPerBlockBits; bi <= (end - 1) >>> entriesPerBlockBits; bi++) {
            if (bi >= table.length || table[(int) bi] == 0) {
                newTable[(int) bi] = blockCluster << clusterBits;
                created.add(new long[] {bi, blockCluster});
                blockCluster++;
            }
        }
        for (long[] c : created) {
            blocks.putAndWrite(c[1] << clusterBits, new byte[clusterSize]);
            blockOffsets.add(c[1] << clusterBits);
        }
        long[] oldTable = table;
        table = newTable; // lets add() find the new blocks; not yet on disk
        fileEnd = Math.max(fileEnd, end << clusterBits);
        for (long c = start; c < end; c++) {
            add(c, +1);
        }
        if (ch.size() < fileEnd) {
            FileIo.writeFully(ch, ByteBuffer.allocate(1), fileEnd - 1);
        }
        if (newTableClusters > 0) {
            long newTableOffset = (start + n + newBlocks) << clusterBits;
            ByteBuffer t = ByteBuffer.allocate(newTableEntries * 8);
            t.asLongBuffer().put(newTable);
            FileIo.writeFully(ch, t, newTableOffset);
            ch.force(true);
            ByteBuffer header = ByteBuffer.allocate(12);
            header.putLong(newTableOffset).putInt(newTableClusters).flip();
            FileIo.writeFully(ch, header, Qcow2Header.OFF_REFTABLE_OFFSET);
            ch.force(true);
            long oldOffset = tableOffset;
            int oldClusters = (int) ((long) oldTable.length * 8 / clusterSize);
            tableOffset = newTableOffset;
            for (int i = 0; i < oldClusters; i++) {
                add((oldOffset >>> clusterBits) + i, -1);
            }
        } else if (!created.isEmpty()) {
            ch.force(true);
            for (long[] c : created) {
                ByteBuffer e = ByteBuffer.allocate(8);
                e.putLong(0, c[1] << clusterBits);
                FileIo.writeFully(ch, e, tableOffset + c[0] * 8);
            }
        }
        ch.force(true);
        nextFree = end;
        for (long c = start; c < start + n; c++) {
            reserved.add(c);
        }
    }

    /** The highest cluster with a non-zero refcount, or -1. */
    private long lastCountedCluster() throws IOException {
        int perBlock = 1 << entriesPerBlockBits;
        for (int bi = table.length - 1; bi >= 0; bi--) {
            long offset = blockOffset(bi);
            if (offset == 0) {
                continue;
            }
            byte[] block = blocks.get(offset);
            for (int i = perBlock - 1; i >= 0; i--) {
                if (read(block, i) != 0) {
                    return ((long) bi << entriesPerBlockBits) + i;
                }
            }
        }
        return -1;
    }

    private long read(byte[] block, int index) {
        if (bits >= 8) {
            int bytes = bits / 8;
            long v = 0;
            for (int i = 0; i < bytes; i++) {
                v = (v << 8) | (block[index * bytes + i] & 0xff);
            }
            return v < 0 ? Long.MAX_VALUE : v;
        }
        int bitPos = index * bits;
        return ((block[bitPos >>> 3] & 0xff) >>> (bitPos & 7)) & ((1 << bits) - 1);
    }

    private void write(byte[] block, int index, long v) {
        if (bits >= 8) {
            int bytes = bits / 8;
            for (int i = bytes - 1; i >= 0; i--) {
                block[index * bytes + i] = (byte) v;
                v >>>= 8;
            }
            return;
        }
        int bitPos = index * bits;
        int mask = ((1 << bits) - 1) << (bitPos & 7);
        block[bitPos >>> 3] = (byte) ((block[bitPos >>> 3] & ~mask) | ((int) v << (bitPos & 7) & mask));
    }
}
