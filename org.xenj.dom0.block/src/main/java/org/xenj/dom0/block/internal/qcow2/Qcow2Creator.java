package org.xenj.dom0.block.internal.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.FileIo;

/**
 * Writes a new, empty qcow2 version 3 image: header (with the backing format extension and the
 * backing file name), one cluster of refcount table, refcount block 0, the L1 table. Every
 * cluster the metadata uses has refcount 1; nothing else is allocated.
 */
public final class Qcow2Creator {

    public static final int DEFAULT_CLUSTER_BITS = 16;
    private static final int REFCOUNT_ORDER = 4;
    private static final int HEADER_LENGTH = 112;

    private Qcow2Creator() {
    }

    public static void create(Path path, long size, String backingFile, ImageFormat backingFormat, int clusterBits)
            throws IOException {
        if (clusterBits < Qcow2Header.MIN_CLUSTER_BITS || clusterBits > Qcow2Header.MAX_CLUSTER_BITS) {
            throw new BlockImageException(path + ": cluster_bits " + clusterBits + " out of range");
        }
        long cs = 1L << clusterBits;
        long l1Entries = size == 0 ? 0 : (size - 1) / (cs * (cs / 8)) + 1;
        if (l1Entries > Qcow2Header.MAX_L1_ENTRIES) {
            throw new BlockImageException(path + ": size " + size + " is too large for " + cs + "-byte clusters");
        }
        long l1Clusters = Math.max(1, (l1Entries * 8 + cs - 1) / cs);
        long metaClusters = 3 + l1Clusters;
        long refcountsPerBlock = cs * 8 / (1 << REFCOUNT_ORDER);
        if (metaClusters > refcountsPerBlock) {
            throw new BlockImageException(path + ": size " + size + " needs a larger cluster size");
        }
        ByteBuffer header = ByteBuffer.allocate((int) cs);
        header.putInt(0, Qcow2Header.MAGIC).putInt(4, 3);
        header.putInt(20, clusterBits).putLong(24, size);
        header.putInt(36, (int) l1Entries).putLong(40, 3 * cs);
        header.putLong(48, cs).putInt(56, 1);
        header.putInt(96, REFCOUNT_ORDER).putInt(100, HEADER_LENGTH);
        int pos = HEADER_LENGTH;
        if (backingFile != null) {
            byte[] fmt = (backingFormat == null ? ImageFormat.RAW : backingFormat).xlName().getBytes(StandardCharsets.US_ASCII);
            header.putInt(pos, Qcow2Header.EXT_BACKING_FORMAT).putInt(pos + 4, fmt.length);
            header.put(pos + 8, fmt);
            pos += 8 + ((fmt.length + 7) & ~7);
        }
        pos += 8; // end-of-extensions marker: type 0, length 0 (already zero)
        if (backingFile != null) {
            byte[] name = backingFile.getBytes(StandardCharsets.UTF_8);
            if (name.length == 0 || name.length > Qcow2Header.MAX_BACKING_NAME || pos + name.length > cs) {
                throw new BlockImageException(path + ": backing file name is empty or too long");
            }
            header.put(pos, name);
            header.putLong(8, pos).putInt(16, name.length);
        }
        ByteBuffer reftable = ByteBuffer.allocate((int) cs);
        reftable.putLong(0, 2 * cs);
        ByteBuffer block = ByteBuffer.allocate((int) cs);
        for (int c = 0; c < metaClusters; c++) {
            block.putShort(c * 2, (short) 1);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            FileIo.writeFully(ch, header, 0);
            FileIo.writeFully(ch, reftable, cs);
            FileIo.writeFully(ch, block, 2 * cs);
            FileIo.writeFully(ch, ByteBuffer.allocate(1), (3 + l1Clusters) * cs - 1); // zeroed L1, sparse
            ch.force(true);
        }
    }
}
