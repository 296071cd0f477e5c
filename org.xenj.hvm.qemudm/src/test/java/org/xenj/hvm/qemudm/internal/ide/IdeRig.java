package org.xenj.hvm.qemudm.internal.ide;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hypervisor.spi.GuestMemory;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * A PIIX3 IDE function on real raw images (the block layer's own service), guest RAM as an array,
 * and the device executor as a thread of its own; helpers that drive the ports as Linux's
 * ata_piix/libata-sff do.
 */
final class IdeRig implements AutoCloseable {

    final ArrayMemory memory;
    final BlockImagesService images = new BlockImagesService();
    final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "ide-test-executor");
        t.setDaemon(true);
        return t;
    });
    final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    final boolean[] irq = new boolean[16];
    final List<IdeDrive> drives = new ArrayList<>();
    Piix3Ide ide;

    IdeRig(int ramBytes) {
        memory = new ArrayMemory(ramBytes);
    }

    static Path rawFile(Path p, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    IdeRig disk(int position, Path file, boolean readOnly) throws IOException {
        BlockDevice b = images.open(file, ImageFormat.RAW, readOnly);
        drives.add(new IdeDrive(IdeDrive.Kind.DISK, position, "hd" + (char) ('a' + position), b));
        return this;
    }

    IdeRig cdrom(int position, Path iso) throws IOException {
        BlockDevice b = iso == null ? null : images.open(iso, ImageFormat.RAW, true);
        drives.add(new IdeDrive(IdeDrive.Kind.CDROM, position, "hd" + (char) ('a' + position), b));
        return this;
    }

    IdeRig start() {
        ide = new Piix3Ide(drives, memory, executor, (line, level) -> {
            synchronized (irq) {
                irq[line] = level;
            }
        }, log::add);
        return this;
    }

    boolean irq(int line) {
        synchronized (irq) {
            return irq[line];
        }
    }

    IoHandler cmd(int ch) {
        return ide.commandBlock(ch);
    }

    IoHandler bm() {
        return ide.bars().get(4).io();
    }

    void out8(int ch, int reg, int v) {
        cmd(ch).ioWrite(reg, 1, v);
    }

    int in8(int ch, int reg) {
        return cmd(ch).ioRead(reg, 1);
    }

    int altStatus(int ch) {
        return ide.controlBlock(ch).ioRead(0, 1);
    }

    void control(int ch, int v) {
        ide.controlBlock(ch).ioWrite(0, 1, v);
    }

    /** Polls the alternate status until BSY clears (as ata_sff_busy_wait does), at most 10 s. */
    int waitNotBusy(int ch) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        int s;
        while (((s = altStatus(ch)) & IdeChannel.BSY) != 0) {
            if (System.nanoTime() > end) {
                throw new AssertionError("BSY stuck, status 0x" + Integer.toHexString(s));
            }
            Thread.sleep(0, 200_000);
        }
        return s;
    }

    /** Task file for a 28-bit command to drive {@code dev} (0/1) of channel {@code ch}. */
    void lba28(int ch, int dev, long lba, int count) {
        out8(ch, 6, 0xe0 | dev << 4 | (int) (lba >> 24 & 0x0f));
        out8(ch, 2, count & 0xff);
        out8(ch, 3, (int) lba & 0xff);
        out8(ch, 4, (int) (lba >> 8) & 0xff);
        out8(ch, 5, (int) (lba >> 16) & 0xff);
    }

    /** Task file for a 48-bit command: high bytes first, as libata's ata_tf_load does. */
    void lba48(int ch, int dev, long lba, int count) {
        out8(ch, 6, 0x40 | dev << 4);
        out8(ch, 2, count >> 8 & 0xff);
        out8(ch, 3, (int) (lba >> 24) & 0xff);
        out8(ch, 4, (int) (lba >> 32) & 0xff);
        out8(ch, 5, (int) (lba >> 40) & 0xff);
        out8(ch, 2, count & 0xff);
        out8(ch, 3, (int) lba & 0xff);
        out8(ch, 4, (int) (lba >> 8) & 0xff);
        out8(ch, 5, (int) (lba >> 16) & 0xff);
    }

    /** Reads {@code n} bytes of PIO data (16-bit accesses). */
    byte[] pioIn(int ch, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i += 2) {
            int w = cmd(ch).ioRead(0, 2);
            b[i] = (byte) w;
            b[i + 1] = (byte) (w >> 8);
        }
        return b;
    }

    void pioOut(int ch, byte[] b, int off, int n) {
        for (int i = 0; i < n; i += 2) {
            cmd(ch).ioWrite(0, 2, (b[off + i] & 0xff) | (b[off + i + 1] & 0xff) << 8);
        }
    }

    /** A PRD table at {@code table}: entries (address, bytes), the last with EOT. */
    void prd(int table, long... addrLen) {
        for (int i = 0; i < addrLen.length; i += 2) {
            memory.write32(table + 4L * i, (int) addrLen[i]);
            int flags = (int) (addrLen[i + 1] & 0xffff) | (i + 2 == addrLen.length ? 0x8000_0000 : 0);
            memory.write32(table + 4L * i + 4, flags);
        }
    }

    /** ata_bmdma_setup + start: PRD pointer, direction, command register, start. */
    void dma(int ch, int table, boolean toMemory, int command) {
        bm().ioWrite(8 * ch + 2, 1, IdeChannel.BMS_INTR | IdeChannel.BMS_ERROR); // what the last interrupt's handler cleared
        bm().ioWrite(8 * ch + 4, 4, table);
        bm().ioWrite(8 * ch, 1, toMemory ? IdeChannel.BM_TO_MEMORY : 0);
        out8(ch, 7, command);
        bm().ioWrite(8 * ch, 1, (toMemory ? IdeChannel.BM_TO_MEMORY : 0) | IdeChannel.BM_START);
    }

    /** Waits for the bus-master interrupt bit, then stops the engine (ata_bmdma_stop); returns BMIS. */
    int dmaWait(int ch) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        int s;
        while (((s = bm().ioRead(8 * ch + 2, 1)) & IdeChannel.BMS_INTR) == 0) {
            if (System.nanoTime() > end) {
                throw new AssertionError("no DMA interrupt, BMIS 0x" + Integer.toHexString(s));
            }
            Thread.sleep(0, 200_000);
        }
        bm().ioWrite(8 * ch, 1, 0);
        bm().ioWrite(8 * ch + 2, 1, IdeChannel.BMS_INTR | IdeChannel.BMS_ERROR);
        return s;
    }

    @Override
    public void close() throws Exception {
        if (ide != null) {
            ide.close();
        }
        executor.shutdownNow();
        images.close();
    }

    /** Guest RAM [0, size) as an array; anything else is outside RAM. */
    static final class ArrayMemory implements GuestMemory {
        final byte[] ram;

        ArrayMemory(int size) {
            ram = new byte[size];
        }

        private int at(long gpa, int len) {
            if (!isRam(gpa, len)) {
                throw new IndexOutOfBoundsException("gpa 0x" + Long.toHexString(gpa) + "+" + len + " is not RAM");
            }
            return (int) gpa;
        }

        @Override
        public long size() {
            return ram.length;
        }

        @Override
        public boolean isRam(long gpa, int length) {
            return gpa >= 0 && length >= 0 && gpa + length <= ram.length;
        }

        @Override
        public void read(long gpa, byte[] dst, int off, int len) {
            System.arraycopy(ram, at(gpa, len), dst, off, len);
        }

        @Override
        public void write(long gpa, byte[] src, int off, int len) {
            System.arraycopy(src, off, ram, at(gpa, len), len);
        }

        @Override
        public int read8(long gpa) {
            return ram[at(gpa, 1)] & 0xff;
        }

        @Override
        public int read16(long gpa) {
            int a = at(gpa, 2);
            return (ram[a] & 0xff) | (ram[a + 1] & 0xff) << 8;
        }

        @Override
        public int read32(long gpa) {
            int a = at(gpa, 4);
            return read16(a) | read16(a + 2) << 16;
        }

        @Override
        public void write8(long gpa, int value) {
            ram[at(gpa, 1)] = (byte) value;
        }

        @Override
        public void write16(long gpa, int value) {
            int a = at(gpa, 2);
            ram[a] = (byte) value;
            ram[a + 1] = (byte) (value >> 8);
        }

        @Override
        public void write32(long gpa, int value) {
            int a = at(gpa, 4);
            write16(a, value);
            write16(a + 2, value >>> 16);
        }
    }
}
