package org.xenj.hvm.qemudm.internal.ide;

import java.io.IOException;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;

/**
 * One drive on an IDE channel: a hard disk or an ATAPI CD-ROM, with its image (a CD-ROM may be
 * empty), and the identity it reports. The guest-visible per-drive registers live in the channel;
 * here is what a drive is, not what it is doing.
 */
public final class IdeDrive {

    public enum Kind {
        DISK, CDROM
    }

    static final int SECTOR = 512;
    static final int CD_SECTOR = 2048;
    /** The largest DRQ block of READ/WRITE MULTIPLE we offer (IDENTIFY word 47). */
    static final int MAX_MULTIPLE = 16;

    private final Kind kind;
    private final String name;
    private final int position;
    private volatile BlockDevice image;
    /** What is in the drive, {@link #medium()}'s form; null when the opener did not say. */
    private volatile String medium;

    /**
     * @param position 0..3: primary master, primary slave, secondary master, secondary slave
     * @param name     what the log calls it (the vdev)
     */
    public IdeDrive(Kind kind, int position, String name, BlockDevice image) {
        this(kind, position, name, image, null, null);
    }

    /**
     * @param target the image's file ("" or null for an empty drive), recorded so that the state
     *               record carries the medium a CD-ROM has now
     */
    public IdeDrive(Kind kind, int position, String name, BlockDevice image, String target, ImageFormat format) {
        if (position < 0 || position > 3) {
            throw new IllegalArgumentException("IDE position " + position);
        }
        if (kind == Kind.DISK && image == null) {
            throw new IllegalArgumentException("a hard disk needs an image");
        }
        this.kind = kind;
        this.position = position;
        this.name = name;
        this.image = image;
        this.medium = target == null ? null : medium(target, format);
    }

    /** A medium as the state record keeps it: "" for none, else {@code format:path}. */
    public static String medium(String target, ImageFormat format) {
        return target == null || target.isEmpty() ? "" : (format == null ? ImageFormat.RAW : format).xlName() + ":" + target;
    }

    /** What is in the drive: "" for nothing, {@code raw:/path/x.iso}; null when not known (tests' drives). */
    public String medium() {
        return medium;
    }

    /**
     * Another medium (or none) in a CD-ROM; the old image is returned for the caller to close once
     * the I/O queued on it has run. Called with the channel's lock held.
     */
    BlockDevice swap(BlockDevice next, String nextMedium) {
        if (kind != Kind.CDROM) {
            throw new IllegalStateException(name + " is a hard disk: its medium cannot change");
        }
        BlockDevice old = image;
        image = next;
        medium = nextMedium;
        return old;
    }

    public Kind kind() {
        return kind;
    }

    public boolean atapi() {
        return kind == Kind.CDROM;
    }

    public int position() {
        return position;
    }

    public String name() {
        return name;
    }

    /** The image, or null for an empty (or unplugged) drive. */
    BlockDevice image() {
        return image;
    }

    /** Capacity in 512-byte sectors (0 when empty). */
    long sectors() {
        BlockDevice b = image;
        return b == null ? 0 : b.size() / SECTOR;
    }

    /** Capacity in 2048-byte CD sectors. */
    long cdSectors() {
        BlockDevice b = image;
        return b == null ? 0 : b.size() / CD_SECTOR;
    }

    boolean readOnly() {
        BlockDevice b = image;
        return b == null || b.readOnly();
    }

    /** Drops and closes the image (unplug, detach); the drive reads as empty afterwards. */
    void close() throws IOException {
        BlockDevice b = image;
        image = null;
        if (b != null) {
            b.close();
        }
    }

    /** The 256 words of IDENTIFY DEVICE (disk) or IDENTIFY PACKET DEVICE (CD-ROM). */
    short[] identify(int multipleCount, int heads, int sectorsPerTrack, int mwdmaMode, boolean writeCache) {
        short[] w = new short[256];
        String serial = "XENJ" + String.format("%016d", 1 + position);
        if (kind == Kind.CDROM) {
            w[0] = (short) 0x85c0; // ATAPI, CD-ROM, removable, DRQ within 50 us, 12-byte packets
            string(w, 10, 20, serial);
            string(w, 23, 8, "1.0");
            string(w, 27, 40, "XENJ DVD-ROM");
            w[49] = (short) (1 << 11 | 1 << 9 | 1 << 8); // IORDY, LBA, DMA
            w[53] = 0x0006; // words 64-70 and 88 valid
            w[63] = (short) (0x0007 | (mwdmaMode >= 0 ? 0x100 << mwdmaMode : 0));
            w[64] = 0x0003; // PIO 3 and 4
            w[65] = w[66] = w[67] = w[68] = 120;
            w[71] = 30;
            w[72] = 30;
            w[80] = 0x007e; // ATA/ATAPI-1..6
            w[82] = 0x4010; // NOP, PACKET
            w[83] = 0x4000;
            w[84] = 0x4000;
            w[85] = 0x4010;
            w[87] = 0x4000;
            return w;
        }
        long total = sectors();
        int cylinders = (int) Math.min(16383, Math.max(1, total / (16 * 63)));
        w[0] = 0x0040; // fixed disk
        w[1] = (short) cylinders;
        w[3] = 16;
        w[6] = 63;
        string(w, 10, 20, serial);
        string(w, 23, 8, "1.0");
        string(w, 27, 40, "XENJ HARDDISK");
        w[47] = (short) (0x8000 | MAX_MULTIPLE);
        w[49] = (short) (1 << 11 | 1 << 9 | 1 << 8); // IORDY, LBA, DMA
        w[51] = 0x0200;
        w[53] = 0x0007; // words 54-58, 64-70, 88 valid
        int curCyl = heads > 0 && sectorsPerTrack > 0
                ? (int) Math.min(65535, total / ((long) heads * sectorsPerTrack)) : 0;
        w[54] = (short) curCyl;
        w[55] = (short) heads;
        w[56] = (short) sectorsPerTrack;
        long chsCapacity = (long) curCyl * heads * sectorsPerTrack;
        w[57] = (short) chsCapacity;
        w[58] = (short) (chsCapacity >>> 16);
        w[59] = (short) (multipleCount > 0 ? 0x100 | multipleCount : 0);
        long lba28 = Math.min(total, 0x0fffffffL);
        w[60] = (short) lba28;
        w[61] = (short) (lba28 >>> 16);
        w[63] = (short) (0x0007 | (mwdmaMode >= 0 ? 0x100 << mwdmaMode : 0));
        w[64] = 0x0003;
        w[65] = w[66] = w[67] = w[68] = 120;
        w[80] = 0x00fe; // ATA/ATAPI-1..7
        w[82] = 0x4060; // NOP, look-ahead, write cache
        w[83] = 0x7400; // FLUSH CACHE EXT, FLUSH CACHE, 48-bit addresses
        w[84] = 0x4000;
        w[85] = (short) (0x4040 | (writeCache ? 0x20 : 0));
        w[86] = 0x3400;
        w[87] = 0x4000;
        w[93] = (short) (position % 2 == 0 ? 0x400b : 0x4b00); // hardware reset result (master/slave)
        for (int i = 0; i < 4; i++) {
            w[100 + i] = (short) (total >>> (16 * i));
        }
        return w;
    }

    /** An ATA string: two characters per word, the first in the high byte, padded with spaces. */
    private static void string(short[] w, int word, int chars, String s) {
        for (int i = 0; i < chars; i += 2) {
            int hi = i < s.length() ? s.charAt(i) : ' ';
            int lo = i + 1 < s.length() ? s.charAt(i + 1) : ' ';
            w[word + i / 2] = (short) (hi << 8 | lo);
        }
    }

    @Override
    public String toString() {
        return name + " (" + kind.name().toLowerCase() + ")";
    }
}
