package org.xenj.hvm.qemudm.internal.fwcfg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The items QEMU's firmware configuration device serves, by 16-bit key: the fixed keys (signature,
 * interface ID, UUID, RAM size, CPU counts, boot menu) and named files, listed in the file
 * directory (key 0x19) and numbered from 0x20 in name order, as QEMU numbers them. Integers are
 * little-endian except in the directory, which is big-endian. Immutable once built.
 */
public final class FwCfgItems {

    public static final int SIGNATURE = 0x00;
    public static final int ID = 0x01;
    public static final int UUID = 0x02;
    public static final int RAM_SIZE = 0x03;
    public static final int NOGRAPHIC = 0x04;
    public static final int NB_CPUS = 0x05;
    public static final int BOOT_MENU = 0x0e;
    public static final int MAX_CPUS = 0x0f;
    public static final int FILE_DIR = 0x19;
    public static final int FILE_FIRST = 0x20;
    /** Bytes of a directory entry: size (4), select (2), reserved (2), name (56, NUL-padded). */
    static final int DIR_ENTRY = 64;
    static final int MAX_NAME = 55;

    private final Map<Integer, byte[]> items;
    private final Map<String, Integer> fileKeys;

    private FwCfgItems(Map<Integer, byte[]> items, Map<String, Integer> fileKeys) {
        this.items = items;
        this.fileKeys = fileKeys;
    }

    /** The item under {@code key} (without the write/arch bits QEMU ignores for reading), or null. */
    public byte[] item(int key) {
        return items.get(key);
    }

    /** The key a named file is served under, or -1. */
    public int fileKey(String name) {
        return fileKeys.getOrDefault(name, -1);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private final Map<Integer, byte[]> fixed = new TreeMap<>();
        private final TreeMap<String, byte[]> files = new TreeMap<>();

        public Builder bytes(int key, byte[] value) {
            if (key == FILE_DIR || key >= FILE_FIRST && key < 0x4000) {
                throw new IllegalArgumentException("key 0x" + Integer.toHexString(key) + " is for files");
            }
            fixed.put(key, value.clone());
            return this;
        }

        public Builder u16(int key, int value) {
            return bytes(key, le(value, 2));
        }

        public Builder u32(int key, long value) {
            return bytes(key, le(value, 4));
        }

        public Builder u64(int key, long value) {
            return bytes(key, le(value, 8));
        }

        public Builder file(String name, byte[] content) {
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            if (n.length == 0 || n.length > MAX_NAME) {
                throw new IllegalArgumentException("fw_cfg file name '" + name + "' must be 1-" + MAX_NAME + " characters");
            }
            files.put(name, content.clone());
            return this;
        }

        public FwCfgItems build() {
            Map<Integer, byte[]> all = new TreeMap<>(fixed);
            Map<String, Integer> keys = new TreeMap<>();
            ByteBuffer dir = ByteBuffer.allocate(4 + DIR_ENTRY * files.size()).order(ByteOrder.BIG_ENDIAN);
            dir.putInt(files.size());
            int key = FILE_FIRST;
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                dir.putInt(f.getValue().length);
                dir.putShort((short) key);
                dir.putShort((short) 0);
                byte[] name = new byte[56];
                byte[] n = f.getKey().getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(n, 0, name, 0, n.length);
                dir.put(name);
                all.put(key, f.getValue());
                keys.put(f.getKey(), key);
                key++;
            }
            all.put(FILE_DIR, dir.array());
            return new FwCfgItems(Map.copyOf(all), Map.copyOf(keys));
        }
    }

    static byte[] le(long value, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            b[i] = (byte) (value >>> (8 * i));
        }
        return b;
    }
}
