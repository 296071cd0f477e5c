package org.xenj.dom0.block.internal.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.AbstractBlockDevice;
import org.xenj.dom0.block.internal.FileIo;

/**
 * A qcow2 image. Requests are cut at cluster boundaries; each piece is looked up under the read
 * lock and, when its cluster is already allocated and owned (refcount 1, the COPIED flag), read or
 * written in place under that lock, so such requests run in parallel. Pieces that need a new
 * cluster (unallocated, zero, compressed or shared clusters) take the write lock.
 *
 * <p>Write ordering for a piece that needs a new cluster (crash-consistency: leaks, never
 * corruption): (1) the cluster's refcount is on disk (see {@link Refcounts}); (2) a missing or
 * shared L2 table is written whole, forced, and only then linked from L1; (3) the cluster is written
 * whole (old contents copied in for a partial write) and, when the copy carried data a crash must
 * not lose, forced; (4) the L2 entry is written; (5) what the old entry pointed to is unreferenced
 * last, after a force (the pointer change on disk first, so power loss cannot leave a pointer
 * whose cluster no longer counts it).
 */
public final class Qcow2Image extends AbstractBlockDevice {

    private final FileChannel ch;
    private final String name;
    private final Qcow2Header h;
    private final int clusterSize;
    private final ClusterMap map;
    private final Refcounts refcounts;
    private final BlockDevice backing;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    Qcow2Image(Path path, FileChannel ch, Qcow2Header h, BlockDevice backing, boolean readOnly, Executor executor,
            Runnable claim) throws IOException {
        super(path, ImageFormat.QCOW2, readOnly, executor, claim);
        this.ch = ch;
        this.name = path.toString();
        this.h = h;
        this.clusterSize = h.clusterSize();
        this.map = new ClusterMap(ch, name, h);
        this.refcounts = new Refcounts(ch, name, h);
        this.backing = backing;
        if (!readOnly && h.autoclear != 0) {
            // Autoclear features (e.g. bitmaps) describe data we do not maintain: clear them before writing.
            ByteBuffer zero = ByteBuffer.allocate(8);
            FileIo.writeFully(ch, zero, Qcow2Header.OFF_AUTOCLEAR);
            ch.force(true);
        }
    }

    @Override
    public long size() {
        return h.size;
    }

    @Override
    protected void doRead(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int inCluster = (int) (pos & (clusterSize - 1));
            int n = Math.min(dst.remaining(), clusterSize - inCluster);
            ByteBuffer piece = dst.slice();
            piece.limit(n);
            lock.readLock().lock();
            try {
                readPiece(pos, inCluster, piece);
            } finally {
                lock.readLock().unlock();
            }
            dst.position(dst.position() + n);
            pos += n;
        }
    }

    private void readPiece(long pos, int inCluster, ByteBuffer piece) throws IOException {
        long entry = map.l2Entry(pos);
        switch (map.kind(entry, refcounts.fileEnd())) {
            case NORMAL:
                FileIo.readZeroPadded(ch, piece, ClusterMap.hostOffset(entry) + inCluster);
                return;
            case COMPRESSED:
                piece.put(ByteBuffer.wrap(decompress(entry), inCluster, piece.remaining()));
                return;
            case ZERO:
                zero(piece);
                return;
            default:
                readBacking(pos, piece);
        }
    }

    private void readBacking(long pos, ByteBuffer piece) throws IOException {
        if (backing == null || pos >= backing.size()) {
            zero(piece);
            return;
        }
        int fromBacking = (int) Math.min(piece.remaining(), backing.size() - pos);
        ByteBuffer part = piece.slice();
        part.limit(fromBacking);
        backing.read(pos, part);
        piece.position(piece.position() + fromBacking);
        zero(piece);
    }

    private static void zero(ByteBuffer b) {
        while (b.hasRemaining()) {
            b.put((byte) 0);
        }
    }

    /** A compressed cluster is raw deflate (no zlib header) that must inflate to one whole cluster. */
    private byte[] decompress(long entry) throws IOException {
        long off = map.compressedOffset(entry);
        int len = (int) Math.min(map.compressedLength(entry), refcounts.fileEnd() - off);
        ByteBuffer in = ByteBuffer.allocate(len);
        FileIo.readZeroPadded(ch, in, off);
        byte[] out = new byte[clusterSize];
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(in.array());
            int produced = 0;
            while (produced < clusterSize) {
                int n = inflater.inflate(out, produced, clusterSize - produced);
                if (n == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                produced += n;
            }
            if (produced < clusterSize) {
                throw new BlockImageException(name + ": compressed cluster at 0x" + Long.toHexString(off)
                        + " inflates to " + produced + " bytes, not " + clusterSize);
            }
            return out;
        } catch (DataFormatException e) {
            throw new BlockImageException(name + ": compressed cluster at 0x" + Long.toHexString(off) + " is corrupt: "
                    + e.getMessage(), e);
        } finally {
            inflater.end();
        }
    }

    @Override
    protected void doWrite(long offset, ByteBuffer src) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) {
            int inCluster = (int) (pos & (clusterSize - 1));
            int n = Math.min(src.remaining(), clusterSize - inCluster);
            ByteBuffer piece = src.slice();
            piece.limit(n);
            if (!writeInPlace(pos, inCluster, piece, false)) {
                lock.writeLock().lock();
                try {
                    if (!writeInPlace(pos, inCluster, piece, true)) {
                        writeNewCluster(pos, inCluster, piece);
                    }
                } finally {
                    lock.writeLock().unlock();
                }
            }
            src.position(src.position() + n);
            pos += n;
        }
    }

    /** Writes the piece into its cluster if the image owns it alone; false if a new cluster is needed. */
    private boolean writeInPlace(long pos, int inCluster, ByteBuffer piece, boolean locked) throws IOException {
        if (!locked) {
            lock.readLock().lock();
        }
        try {
            long entry = map.l2Entry(pos);
            if (map.kind(entry, refcounts.fileEnd()) != ClusterMap.Kind.NORMAL || (entry & ClusterMap.COPIED) == 0
                    || (map.l1Entry(map.l1Index(pos)) & ClusterMap.COPIED) == 0) {
                return false;
            }
            long host = ClusterMap.hostOffset(entry);
            String metadata = map.metadataAt(host);
            if (metadata == null) {
                metadata = refcounts.metadataAt(host);
            }
            if (metadata != null) {
                // A corrupt L2 entry aimed at metadata: writing would turn guest data into image structure.
                throw Qcow2Header.corrupt(name, "data cluster 0x" + Long.toHexString(host) + " (guest offset "
                        + (pos - inCluster) + ") overlaps " + metadata + "; write refused");
            }
            FileIo.writeFully(ch, piece.duplicate(), host + inCluster);
            return true;
        } finally {
            if (!locked) {
                lock.readLock().unlock();
            }
        }
    }

    private void writeNewCluster(long pos, int inCluster, ByteBuffer piece) throws IOException {
        long clusterStart = pos - inCluster;
        long old = map.l2Entry(pos);
        ClusterMap.Kind oldKind = map.kind(old, refcounts.fileEnd());
        long l2 = ownedL2Table(map.l1Index(pos));
        long cluster = refcounts.allocate();
        boolean whole = inCluster == 0 && piece.remaining() == clusterSize;
        ByteBuffer data;
        boolean keptOldData = false;
        if (whole) {
            data = piece.duplicate();
        } else {
            byte[] content = new byte[clusterSize];
            ByteBuffer c = ByteBuffer.wrap(content);
            int valid = (int) Math.min(clusterSize, size() - clusterStart);
            c.limit(valid);
            readPiece(clusterStart, 0, c);
            keptOldData = oldKind == ClusterMap.Kind.NORMAL || oldKind == ClusterMap.Kind.COMPRESSED
                    || (oldKind == ClusterMap.Kind.UNALLOCATED && backing != null);
            c.clear();
            c.position(inCluster);
            c.put(piece.duplicate());
            c.clear();
            data = c;
        }
        FileIo.writeFully(ch, data, cluster);
        if (keptOldData) {
            ch.force(false); // the copied old data must be on disk before the L2 entry moves to it
        }
        map.l2Tables.setLong(l2, map.l2Index(pos), cluster | ClusterMap.COPIED);
        if (holdsReference(old, oldKind)) {
            // The new L2 entry must be on disk before the old cluster's refcount drops: otherwise a
            // power loss can keep the old entry with a refcount that no longer counts it.
            ch.force(false);
            unreference(old, oldKind);
        }
    }

    private static boolean holdsReference(long entry, ClusterMap.Kind kind) {
        return kind == ClusterMap.Kind.COMPRESSED
                || (kind == ClusterMap.Kind.NORMAL || kind == ClusterMap.Kind.ZERO) && ClusterMap.hostOffset(entry) != 0;
    }

    /** Drops the reference an overwritten L2 entry held. */
    private void unreference(long entry, ClusterMap.Kind kind) throws IOException {
        if (kind == ClusterMap.Kind.COMPRESSED) {
            long off = map.compressedOffset(entry);
            long first = off / clusterSize;
            long last = (off + map.compressedLength(entry) - 1) / clusterSize;
            for (long c = first; c <= last; c++) {
                refcounts.add(c, -1);
            }
        } else if ((kind == ClusterMap.Kind.NORMAL || kind == ClusterMap.Kind.ZERO) && ClusterMap.hostOffset(entry) != 0) {
            refcounts.add(ClusterMap.hostOffset(entry) / clusterSize, -1);
        }
    }

    /** The L2 table for L1 entry {@code l1Index}, allocated (or copied, if shared) when needed. */
    private long ownedL2Table(int l1Index) throws IOException {
        long l1e = map.l1Entry(l1Index);
        long old = ClusterMap.hostOffset(l1e);
        if (old != 0 && (l1e & ClusterMap.COPIED) != 0) {
            return old;
        }
        long table = refcounts.allocate();
        byte[] content = old == 0 ? new byte[clusterSize] : map.l2Tables.get(old).clone();
        map.l2Tables.putAndWrite(table, content);
        ch.force(false); // the table's contents before the L1 pointer to it
        map.setL1(l1Index, table | ClusterMap.COPIED);
        if (old != 0) {
            map.l2Tables.forget(old);
            ch.force(false); // the L1 entry's move before the shared table's refcount drops
            refcounts.add(old / clusterSize, -1);
        }
        return table;
    }

    @Override
    protected void doDiscard(long offset, long length) throws IOException {
        long first = (offset + clusterSize - 1) / clusterSize * clusterSize;
        long end = (offset + length) / clusterSize * clusterSize;
        if (offset + length == size()) {
            end = (offset + length + clusterSize - 1) / clusterSize * clusterSize; // the tail cluster is whole
        }
        if (first >= end) {
            return;
        }
        long replacement;
        if (h.version >= 3 && backing != null) {
            replacement = ClusterMap.ZERO; // reads zeros, not the backing file's data
        } else if (backing == null) {
            replacement = 0;
        } else {
            return; // v2 over a backing file cannot say "zeros"; discard is advisory
        }
        lock.writeLock().lock();
        try {
            List<long[]> freed = new ArrayList<>();
            for (long pos = first; pos < end; pos += clusterSize) {
                long old = map.l2Entry(pos);
                ClusterMap.Kind kind = map.kind(old, refcounts.fileEnd());
                if (old == replacement || (kind == ClusterMap.Kind.UNALLOCATED && backing == null)) {
                    continue;
                }
                long l2 = ownedL2Table(map.l1Index(pos));
                map.l2Tables.setLong(l2, map.l2Index(pos), replacement);
                freed.add(new long[] {old, kind.ordinal()});
            }
            if (!freed.isEmpty()) {
                ch.force(false); // no refcount may drop while an on-disk L2 entry still points at the cluster
                for (long[] f : freed) {
                    unreference(f[0], ClusterMap.Kind.values()[(int) f[1]]);
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    protected void doFlush() throws IOException {
        ch.force(true);
    }

    @Override
    protected void doClose() throws IOException {
        lock.writeLock().lock();
        try {
            if (!readOnly()) {
                refcounts.releaseReserved();
                ch.force(true);
            }
        } finally {
            lock.writeLock().unlock();
            try {
                ch.close();
            } finally {
                if (backing != null) {
                    backing.close();
                }
            }
        }
    }
}
