package org.xenj.dom0.block.internal.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.internal.FileIo;

/**
 * The qcow2 header (versions 2 and 3) and its extensions, checked field by field against the
 * file's real length before anything is allocated from it: every table must lie inside the file,
 * so no header can make us allocate more memory than the file is big.
 */
public final class Qcow2Header {

    static final int MAGIC = 0x514649fb; // "QFI\xfb"
    static final int MIN_CLUSTER_BITS = 9;
    static final int MAX_CLUSTER_BITS = 21;
    static final int V2_HEADER_LENGTH = 72;
    static final int V3_HEADER_LENGTH = 104;
    /** QEMU's limits: 32 MiB of L1 table, 8 MiB of refcount table. */
    static final long MAX_L1_ENTRIES = 32L * 1024 * 1024 / 8;
    static final long MAX_REFTABLE_BYTES = 8L * 1024 * 1024;
    static final int MAX_BACKING_NAME = 1023;

    static final long INCOMPAT_DIRTY = 1;
    static final long INCOMPAT_CORRUPT = 2;
    static final long INCOMPAT_EXTERNAL_DATA = 4;
    static final long INCOMPAT_COMPRESSION_TYPE = 8;
    static final long INCOMPAT_EXTENDED_L2 = 16;
    static final long COMPAT_LAZY_REFCOUNTS = 1;

    static final int EXT_END = 0;
    static final int EXT_BACKING_FORMAT = 0xe2792aca;

    static final int OFF_REFTABLE_OFFSET = 48;
    static final int OFF_AUTOCLEAR = 88;

    final int version;
    final int clusterBits;
    final long size;
    final long l1Size;
    final long l1Offset;
    final long refTableOffset;
    final long refTableClusters;
    final long incompatible;
    final long compatible;
    final long autoclear;
    final int refcountOrder;
    final String backingFile;
    final String backingFormat;

    private Qcow2Header(ByteBuffer b, long fileSize, String name) throws BlockImageException {
        int magic = b.getInt(0);
        if (magic != MAGIC) {
            throw corrupt(name, "not a qcow2 image (bad magic 0x" + Integer.toHexString(magic) + ")");
        }
        version = b.getInt(4);
        if (version != 2 && version != 3) {
            throw corrupt(name, "qcow2 version " + Integer.toUnsignedString(version) + " is not supported (2 or 3)");
        }
        long backingOffset = b.getLong(8);
        long backingSize = Integer.toUnsignedLong(b.getInt(16));
        long cb = Integer.toUnsignedLong(b.getInt(20));
        if (cb < MIN_CLUSTER_BITS || cb > MAX_CLUSTER_BITS) {
            throw corrupt(name, "cluster_bits " + cb + " is out of range (" + MIN_CLUSTER_BITS + ".." + MAX_CLUSTER_BITS + ")");
        }
        clusterBits = (int) cb;
        long cs = 1L << clusterBits;
        size = b.getLong(24);
        if (size < 0 || size % 512 != 0) {
            throw corrupt(name, "virtual size " + Long.toUnsignedString(size) + " is not a multiple of 512");
        }
        int crypt = b.getInt(32);
        if (crypt != 0) {
            throw corrupt(name, "encrypted images (crypt_method " + Integer.toUnsignedString(crypt) + ") are not supported");
        }
        l1Size = Integer.toUnsignedLong(b.getInt(36));
        l1Offset = b.getLong(40);
        refTableOffset = b.getLong(48);
        refTableClusters = Integer.toUnsignedLong(b.getInt(56));
        long snapshots = Integer.toUnsignedLong(b.getInt(60));
        if (snapshots != 0) {
            throw corrupt(name, "has " + snapshots + " internal snapshot(s), which xenj does not support "
                    + "(delete them with qemu-img snapshot -d, or qemu-img convert the image)");
        }
        int headerLength;
        if (version == 3) {
            incompatible = b.getLong(72);
            compatible = b.getLong(80);
            autoclear = b.getLong(88);
            long order = Integer.toUnsignedLong(b.getInt(96));
            if (order > 6) {
                throw corrupt(name, "refcount_order " + order + " is out of range (0..6)");
            }
            refcountOrder = (int) order;
            long hl = Integer.toUnsignedLong(b.getInt(100));
            if (hl < V3_HEADER_LENGTH || hl > cs || hl % 8 != 0) {
                throw corrupt(name, "header_length " + hl + " is invalid");
            }
            headerLength = (int) hl;
            checkFeatures(name, b, headerLength);
        } else {
            incompatible = 0;
            compatible = 0;
            autoclear = 0;
            refcountOrder = 4;
            headerLength = V2_HEADER_LENGTH;
        }
        checkTables(name, fileSize, cs);
        backingFormat = extensions(name, b, headerLength, (int) cs, backingOffset);
        backingFile = backingName(name, b, backingOffset, backingSize, cs);
    }

    private void checkFeatures(String name, ByteBuffer b, int headerLength) throws BlockImageException {
        if ((incompatible & INCOMPAT_DIRTY) != 0) {
            throw corrupt(name, "is marked dirty (lazy refcounts in use, not closed cleanly): its refcounts "
                    + "cannot be trusted; repair it with qemu-img check -r all");
        }
        if ((incompatible & INCOMPAT_EXTERNAL_DATA) != 0) {
            throw corrupt(name, "keeps its data in an external data file, which xenj does not support");
        }
        if ((incompatible & INCOMPAT_EXTENDED_L2) != 0) {
            throw corrupt(name, "uses extended L2 entries (subclusters), which xenj does not support");
        }
        int compressionType = headerLength > V3_HEADER_LENGTH ? b.get(V3_HEADER_LENGTH) & 0xff : 0;
        if ((incompatible & INCOMPAT_COMPRESSION_TYPE) != 0 || compressionType != 0) {
            throw corrupt(name, "uses compression type " + compressionType + " (xenj reads deflate, type 0, only)");
        }
        long unknown = incompatible & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_EXTERNAL_DATA
                | INCOMPAT_COMPRESSION_TYPE | INCOMPAT_EXTENDED_L2);
        if (unknown != 0) {
            throw corrupt(name, "uses unknown incompatible features 0x" + Long.toHexString(unknown));
        }
    }

    private void checkTables(String name, long fileSize, long cs) throws BlockImageException {
        if (l1Size > MAX_L1_ENTRIES) {
            throw corrupt(name, "L1 table of " + l1Size + " entries is absurd (at most " + MAX_L1_ENTRIES + ")");
        }
        long bytesPerL1Entry = cs * (cs / 8);
        long neededL1 = size == 0 ? 0 : (size - 1) / bytesPerL1Entry + 1;
        if (l1Size < neededL1) {
            throw corrupt(name, "L1 table of " + l1Size + " entries cannot map the virtual size " + size
                    + " (needs " + neededL1 + ")");
        }
        if (l1Size > 0) {
            checkRegion(name, "L1 table", l1Offset, l1Size * 8, fileSize, cs);
        }
        if (refTableClusters == 0 || refTableClusters * cs > MAX_REFTABLE_BYTES) {
            throw corrupt(name, "refcount table of " + refTableClusters + " clusters is invalid");
        }
        checkRegion(name, "refcount table", refTableOffset, refTableClusters * cs, fileSize, cs);
    }

    static void checkRegion(String name, String what, long offset, long length, long fileSize, long cs)
            throws BlockImageException {
        if (offset <= 0 || offset % cs != 0) {
            throw corrupt(name, what + " offset 0x" + Long.toHexString(offset) + " is not a cluster boundary");
        }
        if (offset > fileSize || length > fileSize - offset) {
            throw corrupt(name, what + " at 0x" + Long.toHexString(offset) + " (+" + length
                    + " bytes) lies past the end of the file (" + fileSize + " bytes)");
        }
    }

    /** Walks the header extensions (bounded by the first cluster); returns the backing format or null. */
    private static String extensions(String name, ByteBuffer b, int headerLength, int cs, long backingOffset)
            throws BlockImageException {
        int end = cs;
        if (backingOffset > 0 && backingOffset < cs) {
            end = (int) backingOffset;
        }
        String format = null;
        int pos = headerLength;
        while (pos + 8 <= end) {
            int type = b.getInt(pos);
            long len = Integer.toUnsignedLong(b.getInt(pos + 4));
            if (type == EXT_END) {
                return format;
            }
            long next = pos + 8 + ((len + 7) & ~7L);
            if (next > end) {
                throw corrupt(name, "header extension 0x" + Integer.toHexString(type) + " runs past the header");
            }
            if (type == EXT_BACKING_FORMAT) {
                format = text(name, b, pos + 8, (int) len, "backing format");
            }
            pos = (int) next;
        }
        return format;
    }

    private static String backingName(String name, ByteBuffer b, long offset, long length, long cs)
            throws BlockImageException {
        if (offset == 0) {
            return null;
        }
        if (length == 0 || length > MAX_BACKING_NAME || offset < 0 || offset > cs - length) {
            throw corrupt(name, "backing file name (offset " + offset + ", " + length + " bytes) is invalid");
        }
        return text(name, b, (int) offset, (int) length, "backing file name");
    }

    private static String text(String name, ByteBuffer b, int pos, int len, String what) throws BlockImageException {
        ByteBuffer slice = b.duplicate();
        slice.position(pos).limit(pos + len);
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
            if (s.indexOf('\0') >= 0 || s.isEmpty()) {
                throw corrupt(name, what + " is empty or contains NUL");
            }
            return s;
        } catch (CharacterCodingException e) {
            throw corrupt(name, what + " is not UTF-8");
        }
    }

    /** Reads and checks the header of an open image file. */
    static Qcow2Header read(FileChannel ch, String name) throws IOException {
        long fileSize = ch.size();
        ByteBuffer first = ByteBuffer.allocate(V3_HEADER_LENGTH);
        if (!FileIo.readFully(ch, first, 0)) {
            throw corrupt(name, "is too short for a qcow2 header (" + fileSize + " bytes)");
        }
        long cb = Integer.toUnsignedLong(first.getInt(20));
        int cs = cb >= MIN_CLUSTER_BITS && cb <= MAX_CLUSTER_BITS ? 1 << cb : V3_HEADER_LENGTH;
        ByteBuffer whole = ByteBuffer.allocate(Math.max(cs, V3_HEADER_LENGTH));
        FileIo.readZeroPadded(ch, whole, 0);
        return new Qcow2Header(whole, fileSize, name);
    }

    int clusterSize() {
        return 1 << clusterBits;
    }

    boolean markedCorrupt() {
        return (incompatible & INCOMPAT_CORRUPT) != 0;
    }

    static BlockImageException corrupt(String name, String problem) {
        return new BlockImageException(name + ": " + problem);
    }
}
