package org.xenj.dom0.block.internal.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.LinkedHashMap;
import java.util.Map;

import org.xenj.dom0.block.internal.FileIo;

/**
 * A bounded LRU cache of cluster-sized metadata tables (L2 tables, refcount blocks), keyed by
 * their file offset. Write-through: every change goes to the file at once, in the order the
 * caller chooses, so the on-disk ordering rules hold without a write-back pass. Thread-safe.
 */
final class TableCache {

    private final FileChannel ch;
    private final int clusterSize;
    private final Map<Long, byte[]> tables;

    TableCache(FileChannel ch, int clusterSize, long budgetBytes) {
        this.ch = ch;
        this.clusterSize = clusterSize;
        int capacity = (int) Math.max(4, budgetBytes / clusterSize);
        this.tables = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
                return size() > capacity;
            }
        };
    }

    /** The table at {@code offset} (already checked to lie inside the file). */
    synchronized byte[] get(long offset) throws IOException {
        byte[] t = tables.get(offset);
        if (t == null) {
            t = new byte[clusterSize];
            FileIo.readZeroPadded(ch, ByteBuffer.wrap(t), offset);
            tables.put(offset, t);
        }
        return t;
    }

    synchronized long getLong(long offset, int index) throws IOException {
        return ByteBuffer.wrap(get(offset)).getLong(index * 8);
    }

    /** Sets one 8-byte entry and writes it through. */
    synchronized void setLong(long offset, int index, long value) throws IOException {
        byte[] t = get(offset);
        ByteBuffer.wrap(t).putLong(index * 8, value);
        FileIo.writeFully(ch, ByteBuffer.wrap(t, index * 8, 8), offset + index * 8L);
    }

    /** Writes a whole new table to the file and caches it. */
    synchronized void putAndWrite(long offset, byte[] table) throws IOException {
        FileIo.writeFully(ch, ByteBuffer.wrap(table), offset);
        tables.put(offset, table);
    }

    synchronized void forget(long offset) {
        tables.remove(offset);
    }
}
