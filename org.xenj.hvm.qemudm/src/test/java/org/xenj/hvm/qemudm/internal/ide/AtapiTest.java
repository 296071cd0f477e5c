package org.xenj.hvm.qemudm.internal.ide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ATAPI CD-ROM at secondary master, driven with PACKET commands as libata's atapi path does. */
class AtapiTest {

    static final int CH = 1;
    static final int SECTORS = 40;
    @TempDir
    Path tmp;
    IdeRig rig;
    byte[] disc;

    @BeforeEach
    void setUp() throws Exception {
        disc = new byte[SECTORS * 2048];
        new Random(3).nextBytes(disc);
        Path iso = Files.write(tmp.resolve("cd.iso"), disc);
        rig = new IdeRig(1 << 20).cdrom(2, iso).start();
    }

    @AfterEach
    void close() throws Exception {
        rig.close();
    }

    /** PACKET with the byte count limit, the 12-byte CDB through the data port. */
    void packet(boolean dma, int limit, int... cdb) throws InterruptedException {
        rig.out8(CH, 6, 0xa0);
        rig.out8(CH, 1, dma ? 1 : 0);
        rig.out8(CH, 4, limit & 0xff);
        rig.out8(CH, 5, limit >> 8);
        rig.out8(CH, 7, 0xa0);
        int s = rig.waitNotBusy(CH);
        assertEquals(IdeChannel.DRQ, s & IdeChannel.DRQ, "DRQ for the packet");
        assertEquals(1, rig.in8(CH, 2) & 3, "interrupt reason: CoD");
        byte[] b = new byte[12];
        for (int i = 0; i < cdb.length; i++) {
            b[i] = (byte) cdb[i];
        }
        rig.pioOut(CH, b, 0, 12);
    }

    /** Data-in by PIO, DRQ block after DRQ block, until the status phase. */
    byte[] dataIn() throws InterruptedException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        while (true) {
            int s = rig.waitNotBusy(CH);
            rig.in8(CH, 7);
            if ((s & IdeChannel.DRQ) == 0) {
                assertEquals(3, rig.in8(CH, 2) & 3, "status phase: IO|CoD");
                return out.toByteArray();
            }
            assertEquals(2, rig.in8(CH, 2) & 3, "data-in phase: IO");
            int n = rig.in8(CH, 4) | rig.in8(CH, 5) << 8;
            out.writeBytes(rig.pioIn(CH, n));
        }
    }

    int statusAfter() throws InterruptedException {
        return rig.waitNotBusy(CH);
    }

    @Test
    void signatureAndIdentifyPacketDevice() throws Exception {
        rig.out8(CH, 6, 0xa0);
        assertEquals(0x14, rig.in8(CH, 4));
        assertEquals(0xeb, rig.in8(CH, 5));
        rig.out8(CH, 7, 0xec); // IDENTIFY DEVICE is aborted by a packet device
        assertEquals(IdeChannel.ERR, rig.waitNotBusy(CH) & IdeChannel.ERR);
        rig.out8(CH, 7, 0xa1);
        rig.waitNotBusy(CH);
        byte[] id = rig.pioIn(CH, 512);
        assertEquals(0x85c0, Piix3IdeTest.word(id, 0));
        assertEquals("XENJ DVD-ROM", Piix3IdeTest.ataString(id, 27, 40).trim());
    }

    @Test
    void inquiryTestUnitReadyCapacityAndToc() throws Exception {
        packet(false, 0xfffe, 0x12, 0, 0, 0, 36, 0);
        byte[] inq = dataIn();
        assertEquals(36, inq.length);
        assertEquals(5, inq[0]);
        assertEquals("XENJ    DVD-ROM", new String(inq, 8, 15, java.nio.charset.StandardCharsets.US_ASCII));
        packet(false, 0xfffe, 0x00);
        assertEquals(0, dataIn().length);
        assertEquals(0, rig.in8(CH, 7) & IdeChannel.ERR);
        packet(false, 0xfffe, 0x25);
        byte[] cap = dataIn();
        assertArrayEquals(new byte[] {0, 0, 0, SECTORS - 1, 0, 0, 8, 0}, cap);
        packet(false, 0xfffe, 0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0);
        byte[] toc = dataIn();
        assertEquals(20, toc.length);
        assertEquals(1, toc[2]);
        assertEquals(1, toc[6], "track 1");
        assertEquals((byte) 0xaa, toc[14], "lead-out");
        assertEquals(SECTORS, toc[19], "lead-out at the disc's end");
        packet(false, 0xfffe, 0x43, 2, 0, 0, 0, 0, 0, 0, 100, 0); // MSF
        toc = dataIn();
        assertEquals(2, toc[10], "track 1 at 00:02:00");
        packet(false, 0xfffe, 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64, 0);
        byte[] mode = dataIn();
        assertEquals(0x2a, mode[8]);
        packet(false, 0xfffe, 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0);
        byte[] gesn = dataIn();
        assertEquals(2, gesn[5], "media present");
    }

    @Test
    void read10ByPioInChunksOfTheByteCountLimitAndByDma() throws Exception {
        packet(false, 0x2000, 0x28, 0, 0, 0, 0, 3, 0, 0, 10, 0); // 10 sectors at 3, 8 KiB per DRQ
        byte[] got = dataIn();
        assertArrayEquals(Arrays.copyOfRange(disc, 3 * 2048, 13 * 2048), got);

        rig.prd(0x8000, 0x10000, 4 * 2048);
        packet(true, 0, 0x28, 0, 0, 0, 0, 20, 0, 0, 4, 0);
        rig.bm().ioWrite(8 + 2, 1, IdeChannel.BMS_INTR | IdeChannel.BMS_ERROR);
        rig.bm().ioWrite(8 + 4, 4, 0x8000);
        rig.bm().ioWrite(8, 1, IdeChannel.BM_TO_MEMORY | IdeChannel.BM_START);
        int bmis = rig.dmaWait(CH);
        assertEquals(IdeChannel.BMS_INTR, bmis & 7);
        assertEquals(3, rig.in8(CH, 2) & 3);
        assertEquals(0, rig.in8(CH, 7) & (IdeChannel.ERR | IdeChannel.DRQ | IdeChannel.BSY));
        byte[] mem = new byte[4 * 2048];
        rig.memory.read(0x10000, mem, 0, mem.length);
        assertArrayEquals(Arrays.copyOfRange(disc, 20 * 2048, 24 * 2048), mem);
    }

    @Test
    void shortRepliesByDmaAndInterruptsAsLibataSeesThem() throws Exception {
        // MODE SENSE(10) into a 128-byte buffer: libata uses DMA (a multiple of 16 bytes); the reply is shorter
        rig.prd(0x8000, 0x10000, 128);
        rig.bm().ioWrite(8 + 2, 1, IdeChannel.BMS_INTR | IdeChannel.BMS_ERROR);
        rig.bm().ioWrite(8 + 4, 4, 0x8000);
        rig.bm().ioWrite(8, 1, IdeChannel.BM_TO_MEMORY);
        packet(true, 128, 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128, 0);
        assertTrue(!rig.irq(15), "no interrupt before the engine runs");
        rig.bm().ioWrite(8, 1, IdeChannel.BM_TO_MEMORY | IdeChannel.BM_START);
        int bmis = rig.dmaWait(CH);
        assertEquals(IdeChannel.BMS_INTR | IdeChannel.BMS_ACTIVE, bmis & 7);
        assertTrue(rig.irq(15), "completion interrupt");
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.in8(CH, 7));
        assertTrue(!rig.irq(15));
        assertEquals(0x2a, rig.memory.read8(0x10008));
        // TEST UNIT READY (no data): one interrupt at the end
        packet(false, 0, 0x00);
        assertTrue(rig.irq(15), "TUR completion interrupt");
        assertEquals(IdeChannel.DRDY | IdeChannel.DSC, rig.in8(CH, 7));
        assertEquals(3, rig.in8(CH, 2));
    }

    @Test
    void errorsGiveCheckConditionAndRequestSenseTellsWhy() throws Exception {
        packet(false, 0xfffe, 0x28, 0, 0, 0, 0, SECTORS - 1, 0, 0, 2, 0); // runs past the end
        int s = statusAfter();
        assertEquals(IdeChannel.ERR, s & IdeChannel.ERR);
        assertEquals(Atapi.ILLEGAL_REQUEST << 4, rig.in8(CH, 1) & 0xf0);
        packet(false, 0xfffe, 0x03, 0, 0, 0, 18, 0);
        byte[] sense = dataIn();
        assertEquals(Atapi.ILLEGAL_REQUEST, sense[2]);
        assertEquals(Atapi.ASC_LBA_OUT_OF_RANGE, sense[12]);
        packet(false, 0xfffe, 0xff);
        assertEquals(IdeChannel.ERR, statusAfter() & IdeChannel.ERR);
    }

    @Test
    void anEmptyDriveIsNotReady() throws Exception {
        rig.close();
        rig = new IdeRig(1 << 20).cdrom(2, null).start();
        packet(false, 0xfffe, 0x00);
        assertEquals(IdeChannel.ERR, statusAfter() & IdeChannel.ERR);
        assertEquals(Atapi.NOT_READY << 4, rig.in8(CH, 1) & 0xf0);
        packet(false, 0xfffe, 0x03, 0, 0, 0, 18, 0);
        assertEquals(Atapi.ASC_NO_MEDIUM, dataIn()[12]);
        assertTrue(rig.log.isEmpty() || rig.log.stream().noneMatch(l -> l.contains("Exception")));
    }
}
