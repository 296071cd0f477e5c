package org.xenj.hvm.qemudm.internal.ide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ATA side of the PIIX3 IDE function, driven through its ports and BAR4 as libata-sff does. */
class Piix3IdeTest {

    static final int CH = 0;
    @TempDir
    Path tmp;
    IdeRig rig;

    @AfterEach
    void close() throws Exception {
        if (rig != null) {
            rig.close();
        }
    }

    private IdeRig diskRig(long size) throws Exception {
        rig = new IdeRig(1 << 20).disk(0, IdeRig.rawFile(tmp.resolve("hda.img"), size), false).start();
        return rig;
    }

    /**
     * A detach unplugs the PCI function (its disks' closes go to the device executor) and then
     * closes: when close() returns the images must be free, or the next owner's open (a restore, a
     * hand-over) is refused as a second writer — seen when a PVHVM guest's restore reopened its
     * qcow2 while the executor was still writing it back.
     */
    @Test
    void afterAnUnplugAndCloseTheImagesAreFreeForTheNextWriter() throws Exception {
        Path img = IdeRig.rawFile(tmp.resolve("hda.img"), 1 << 20);
        rig = new IdeRig(1 << 20);
        java.util.concurrent.CountDownLatch closing = new java.util.concurrent.CountDownLatch(1);
        org.xenj.dom0.block.api.BlockDevice slowClose = new SlowClose(
                rig.images.open(img, org.xenj.dom0.block.api.ImageFormat.RAW, false), closing);
        rig.drives.add(new IdeDrive(IdeDrive.Kind.DISK, 0, "hda", slowClose));
        rig.start();
        rig.ide.unplugged();
        assertTrue(closing.await(5, java.util.concurrent.TimeUnit.SECONDS), "the unplug's close started");
        rig.ide.close();
        rig.images.open(img, org.xenj.dom0.block.api.ImageFormat.RAW, false).close(); // refused before the fix
    }

    /** An image whose write-back at close takes a while (a qcow2 flushing its metadata). */
    private static final class SlowClose implements org.xenj.dom0.block.api.BlockDevice {
        private final org.xenj.dom0.block.api.BlockDevice image;
        private final java.util.concurrent.CountDownLatch closing;

        SlowClose(org.xenj.dom0.block.api.BlockDevice image, java.util.concurrent.CountDownLatch closing) {
            this.image = image;
            this.closing = closing;
        }

        @Override
        public void close() throws java.io.IOException {
            closing.countDown();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            image.close();
        }

        @Override
        public Path path() {
            return image.path();
        }

        @Override
        public org.xenj.dom0.block.api.ImageFormat format() {
            return image.format();
        }

        @Override
        public long size() {
            return image.size();
        }

        @Override
        public boolean readOnly() {
            return image.readOnly();
        }

        @Override
        public void read(long offset, java.nio.ByteBuffer dst) throws java.io.IOException {
            image.read(offset, dst);
        }

        @Override
        public void write(long offset, java.nio.ByteBuffer src) throws java.io.IOException {
            image.write(offset, src);
        }

        @Override
        public void flush() throws java.io.IOException {
            image.flush();
        }

        @Override
        public void discard(long offset, long length) throws java.io.IOException {
            image.discard(offset, length);
        }

        @Override
        public java.util.concurrent.CompletableFuture<Void> readAsync(long offset, java.nio.ByteBuffer dst) {
            return image.readAsync(offset, dst);
        }

        @Override
        public java.util.concurrent.CompletableFuture<Void> writeAsync(long offset, java.nio.ByteBuffer src) {
            return image.writeAsync(offset, src);
        }

        @Override
        public java.util.concurrent.CompletableFuture<Void> flushAsync() {
            return image.flushAsync();
        }

        @Override
        public java.util.concurrent.CompletableFuture<Void> discardAsync(long offset, long length) {
            return image.discardAsync(offset, length);
        }
    }

    @Test
    void pciIdentityAndLegacyModeAsAtaPiixExpects() throws Exception {
        diskRig(1 << 20);
        assertEquals(0x8086, rig.ide.identity().vendor());
        assertEquals(0x7010, rig.ide.identity().device());
        assertEquals(0x010180, rig.ide.identity().classCode()); // both channels legacy, bus master
        assertEquals(16, rig.ide.bars().get(4).size());
        // IDETIM decode enable for both channels (piix_enable_bits)
        assertEquals(0x80, rig.ide.configRead(0x41, 1) & 0x80);
        assertEquals(0x80, rig.ide.configRead(0x43, 1) & 0x80);
        rig.ide.configWrite(0x40, 4, 0xffffffff);
        assertEquals(0xf3ff_f3ff, rig.ide.configRead(0x40, 4));
        rig.ide.reset();
        assertEquals(0x8000_8000, rig.ide.configRead(0x40, 4));
    }

    @Test
    void resetSignatureAndProbeOfAnAbsentSlave() throws Exception {
        diskRig(1 << 20);
        rig.out8(CH, 6, 0xa0);
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.in8(CH, 7));
        // ata_devchk: the pattern written to nsect/lbal reads back on a present device
        rig.out8(CH, 2, 0x55);
        rig.out8(CH, 3, 0xaa);
        assertEquals(0x55, rig.in8(CH, 2));
        assertEquals(0xaa, rig.in8(CH, 3));
        rig.out8(CH, 6, 0xb0);
        assertEquals(0, rig.in8(CH, 7), "an absent slave reads 0");
        // SRST: BSY while asserted, ATA signature after
        rig.control(CH, IdeChannel.CTL_SRST | IdeChannel.CTL_NIEN);
        rig.out8(CH, 6, 0xa0);
        assertEquals(IdeChannel.BSY, rig.altStatus(CH));
        rig.control(CH, IdeChannel.CTL_NIEN);
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.altStatus(CH));
        assertEquals(1, rig.in8(CH, 2));
        assertEquals(1, rig.in8(CH, 3));
        assertEquals(0, rig.in8(CH, 4));
        assertEquals(0, rig.in8(CH, 5));
        assertEquals(1, rig.in8(CH, 1), "diagnostics passed");
        // the secondary channel has nothing: floating bus
        assertEquals(0xff, rig.in8(1, 7));
    }

    @Test
    void identifyDeviceByPioRaisesIrq14AndReportsLba48Capacity() throws Exception {
        diskRig(300L << 20);
        rig.out8(CH, 6, 0xa0);
        rig.out8(CH, 7, 0xec);
        int s = rig.waitNotBusy(CH);
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC | IdeChannel.DRQ, s);
        assertTrue(rig.irq(14));
        assertEquals(s, rig.in8(CH, 7));
        assertFalse(rig.irq(14), "reading status acknowledges");
        byte[] id = rig.pioIn(CH, 512);
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.altStatus(CH));
        assertEquals("XENJ HARDDISK", ataString(id, 27, 40).trim());
        assertEquals(300L << 11, word(id, 60) | (long) word(id, 61) << 16);
        assertEquals(300L << 11, word(id, 100) | (long) word(id, 101) << 16);
        assertEquals(0x0400, word(id, 83) & 0x0400, "48-bit addresses");
        assertEquals(0x0300, word(id, 49) & 0x0300, "LBA and DMA");
    }

    @Test
    void pioWriteThenReadSectorsLba28AndMultiple() throws Exception {
        Path img = IdeRig.rawFile(tmp.resolve("hda.img"), 1 << 20);
        rig = new IdeRig(1 << 20).disk(0, img, false).start();
        byte[] data = new byte[3 * 512];
        new Random(1).nextBytes(data);
        rig.lba28(CH, 0, 7, 3);
        rig.out8(CH, 7, 0x30); // WRITE SECTORS
        for (int sector = 0; sector < 3; sector++) {
            int s = rig.waitNotBusy(CH);
            assertEquals(IdeChannel.DRQ, s & IdeChannel.DRQ, "DRQ for sector " + sector);
            rig.pioOut(CH, data, sector * 512, 512);
        }
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.waitNotBusy(CH));
        assertTrue(rig.irq(14));
        rig.in8(CH, 7);
        rig.out8(CH, 7, 0xe7); // FLUSH CACHE
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.waitNotBusy(CH));
        byte[] onDisk = new byte[data.length];
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(7 * 512);
            f.readFully(onDisk);
        }
        assertArrayEquals(data, onDisk);

        rig.lba28(CH, 0, 7, 3);
        rig.out8(CH, 7, 0x20); // READ SECTORS
        byte[] back = new byte[data.length];
        for (int sector = 0; sector < 3; sector++) {
            rig.waitNotBusy(CH);
            System.arraycopy(rig.pioIn(CH, 512), 0, back, sector * 512, 512);
        }
        assertArrayEquals(data, back);

        // READ MULTIPLE without SET MULTIPLE aborts; with 2 sectors per block it reads 2 + 1
        rig.lba28(CH, 0, 7, 3);
        rig.out8(CH, 7, 0xc4);
        assertEquals(IdeChannel.DRDY | IdeChannel.ERR, rig.waitNotBusy(CH));
        assertEquals(IdeChannel.ABRT, rig.in8(CH, 1));
        rig.out8(CH, 2, 2);
        rig.out8(CH, 7, 0xc6);
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.waitNotBusy(CH));
        rig.lba28(CH, 0, 7, 3);
        rig.out8(CH, 7, 0xc4);
        rig.waitNotBusy(CH);
        byte[] first = rig.pioIn(CH, 1024);
        rig.waitNotBusy(CH);
        byte[] last = rig.pioIn(CH, 512);
        assertArrayEquals(Arrays.copyOf(data, 1024), first);
        assertArrayEquals(Arrays.copyOfRange(data, 1024, 1536), last);
        // 32-bit data port accesses work too (ata_sff_data_xfer32)
        rig.lba28(CH, 0, 7, 1);
        rig.out8(CH, 7, 0x20);
        rig.waitNotBusy(CH);
        int dword = rig.cmd(CH).ioRead(0, 4);
        assertEquals((data[0] & 0xff) | (data[1] & 0xff) << 8 | (data[2] & 0xff) << 16 | (data[3] & 0xff) << 24, dword);
    }

    @Test
    void dmaWithPrdTablesLba48BeyondTheLba28Limit() throws Exception {
        Path img = IdeRig.rawFile(tmp.resolve("big.img"), 200L << 30); // sparse, 200 GiB
        rig = new IdeRig(1 << 20).disk(0, img, false).start();
        long lba = 0x1234_5678L; // above 2^28
        byte[] data = new byte[8 * 512];
        new Random(2).nextBytes(data);
        // two regions: 1 KiB at 0x10000, 3 KiB at 0x23000; the table at 0x8000
        rig.memory.write(0x10000, data, 0, 1024);
        rig.memory.write(0x23000, data, 1024, 3072);
        rig.prd(0x8000, 0x10000, 1024, 0x23000, 3072);
        rig.lba48(CH, 0, lba, 8);
        rig.dma(CH, 0x8000, false, 0x35); // WRITE DMA EXT
        int bmis = rig.dmaWait(CH);
        assertEquals(IdeChannel.BMS_INTR, bmis & (IdeChannel.BMS_INTR | IdeChannel.BMS_ERROR | IdeChannel.BMS_ACTIVE));
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.in8(CH, 7));
        rig.out8(CH, 7, 0xea); // FLUSH CACHE EXT
        rig.waitNotBusy(CH);
        byte[] onDisk = new byte[data.length];
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(lba * 512);
            f.readFully(onDisk);
        }
        assertArrayEquals(data, onDisk);

        // READ DMA EXT into one 64 KiB region (count 0 = 64 KiB), larger than the transfer
        rig.prd(0x9000, 0x40000, 0);
        rig.lba48(CH, 0, lba, 8);
        rig.dma(CH, 0x9000, true, 0x25);
        bmis = rig.dmaWait(CH);
        assertEquals(IdeChannel.BMS_INTR | IdeChannel.BMS_ACTIVE, bmis & 0x07, "table longer than the transfer: still active");
        byte[] back = new byte[data.length];
        rig.memory.read(0x40000, back, 0, back.length);
        assertArrayEquals(data, back);
        assertTrue(rig.irq(14));
        rig.in8(CH, 7);
        assertFalse(rig.irq(14));
        // a 28-bit command cannot reach there
        rig.lba28(CH, 0, 0x0fff_ffff, 1);
        rig.out8(CH, 7, 0x20);
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC | IdeChannel.DRQ, rig.waitNotBusy(CH));
    }

    @Test
    void guestErrorsEndInErrorStatusNeverOutsideRam() throws Exception {
        diskRig(1 << 20);
        // past the end of the disk
        rig.lba28(CH, 0, 2047, 2);
        rig.out8(CH, 7, 0x20);
        assertEquals(IdeChannel.DRDY | IdeChannel.ERR, rig.waitNotBusy(CH));
        assertEquals(IdeChannel.ABRT | IdeChannel.IDNF, rig.in8(CH, 1));
        // an unknown command
        rig.out8(CH, 7, 0x5c);
        assertEquals(IdeChannel.ABRT, rig.in8(CH, 1));
        // a DMA region beyond guest RAM: error in BMIS and in the task file, RAM untouched
        rig.prd(0x8000, (1 << 20) - 512, 1024);
        rig.lba28(CH, 0, 0, 2);
        rig.dma(CH, 0x8000, true, 0xc8);
        int bmis = rig.dmaWait(CH);
        assertEquals(IdeChannel.BMS_ERROR | IdeChannel.BMS_INTR, bmis & 0x07);
        assertEquals(IdeChannel.ERR, rig.in8(CH, 7) & IdeChannel.ERR);
        // the table itself outside RAM
        rig.lba28(CH, 0, 0, 1);
        rig.dma(CH, 0xfff0_0000, true, 0xc8);
        assertEquals(IdeChannel.BMS_ERROR, rig.dmaWait(CH) & IdeChannel.BMS_ERROR);
        // a table shorter than the transfer
        rig.prd(0x8000, 0x10000, 512);
        rig.lba28(CH, 0, 0, 4);
        rig.dma(CH, 0x8000, true, 0xc8);
        assertEquals(IdeChannel.BMS_ERROR, rig.dmaWait(CH) & IdeChannel.BMS_ERROR);
        // a table of 2-byte regions without an end: stops after 8192 entries
        for (int i = 0; i < 8192; i++) {
            rig.memory.write32(0x80000 + 8L * i, 0x10000);
            rig.memory.write32(0x80000 + 8L * i + 4, 2);
        }
        rig.lba48(CH, 0, 0, 64);
        rig.dma(CH, 0x80000, true, 0x25);
        assertEquals(IdeChannel.BMS_ERROR, rig.dmaWait(CH) & IdeChannel.BMS_ERROR);
        assertTrue(rig.log.stream().anyMatch(l -> l.contains("no end")), String.join("\n", rig.log));
        // the drive still works afterwards
        rig.lba28(CH, 0, 0, 1);
        rig.out8(CH, 7, 0x20);
        assertEquals(IdeChannel.DRQ, rig.waitNotBusy(CH) & IdeChannel.DRQ);
        rig.pioIn(CH, 512);
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.in8(CH, 7));
    }

    @Test
    void nienMasksTheLineAndSetFeaturesAndInitParams() throws Exception {
        diskRig(1 << 20);
        rig.control(CH, IdeChannel.CTL_NIEN);
        rig.out8(CH, 6, 0xa0);
        rig.out8(CH, 1, 0x03);
        rig.out8(CH, 2, 0x22); // MWDMA2
        rig.out8(CH, 7, 0xef);
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.waitNotBusy(CH));
        assertFalse(rig.irq(14));
        rig.control(CH, 0);
        assertTrue(rig.irq(14), "pending INTRQ shows when nIEN clears");
        rig.in8(CH, 7);
        rig.out8(CH, 1, 0x99);
        rig.out8(CH, 7, 0xef);
        assertEquals(IdeChannel.ABRT, rig.in8(CH, 1));
        // INITIALIZE DEVICE PARAMETERS then a CHS read of C/H/S 0/1/1 = LBA 32 with 4 heads 32 sectors
        rig.out8(CH, 6, 0xa3);
        rig.out8(CH, 2, 32);
        rig.out8(CH, 7, 0x91);
        rig.waitNotBusy(CH);
        rig.out8(CH, 6, 0xa1);
        rig.out8(CH, 2, 1);
        rig.out8(CH, 3, 1);
        rig.out8(CH, 4, 0);
        rig.out8(CH, 5, 0);
        rig.out8(CH, 7, 0x20);
        assertEquals(IdeChannel.DRQ, rig.waitNotBusy(CH) & IdeChannel.DRQ);
        rig.out8(CH, 7, 0xec);
        rig.waitNotBusy(CH);
        byte[] id = rig.pioIn(CH, 512);
        assertEquals(0x0407, word(id, 63) & 0x0707, "MWDMA 0-2 supported, 2 selected");
        assertEquals(4, word(id, 55));
        assertEquals(32, word(id, 56));
    }

    @Test
    void unplugClosesTheHardDiskImage() throws Exception {
        Path img = IdeRig.rawFile(tmp.resolve("hda.img"), 1 << 20);
        rig = new IdeRig(1 << 20).disk(0, img, false).start();
        rig.ide.unplugged();
        assertEquals(0xff, rig.in8(CH, 7), "the channel is empty now");
        long end = System.nanoTime() + 5_000_000_000L;
        while (rig.log.stream().noneMatch(l -> l.contains("image closed")) && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        // the block layer lets another writer (blkback) open it now
        rig.images.open(img, org.xenj.dom0.block.api.ImageFormat.RAW, false).close();
    }

    static int word(byte[] id, int w) {
        return (id[2 * w] & 0xff) | (id[2 * w + 1] & 0xff) << 8;
    }

    static String ataString(byte[] id, int w, int chars) {
        byte[] s = new byte[chars];
        for (int i = 0; i < chars; i += 2) {
            s[i] = id[2 * w + i + 1];
            s[i + 1] = id[2 * w + i];
        }
        return new String(s, StandardCharsets.US_ASCII);
    }
}
