package org.xenj.hvm.qemudm.internal.ide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;

/**
 * xl cd-eject / cd-insert on the IDE CD-ROM at secondary master, seen through the PACKET commands
 * Linux's sr driver and cdrom layer send when they check for media events (sr_check_events: GET
 * EVENT STATUS NOTIFICATION, then TEST UNIT READY; REQUEST SENSE for the reason) and when a
 * medium is opened again (READ CAPACITY, READ(10)).
 */
class CdromMediumChangeTest {

    static final int CH = 1;
    @TempDir
    Path tmp;
    IdeRig rig;
    AtapiTest at;
    byte[] first;
    byte[] second;
    Path secondIso;

    @BeforeEach
    void setUp() throws Exception {
        first = new byte[40 * 2048];
        second = new byte[64 * 2048];
        new Random(3).nextBytes(first);
        new Random(4).nextBytes(second);
        Path iso = Files.write(tmp.resolve("first.iso"), first);
        secondIso = Files.write(tmp.resolve("second.iso"), second);
        rig = new IdeRig(1 << 20).cdrom(2, iso).start();
        at = new AtapiTest();
        at.rig = rig;
    }

    @AfterEach
    void close() throws Exception {
        rig.close();
    }

    /** TEST UNIT READY: the sense key from the error register (0 = good). */
    private int testUnitReady() throws InterruptedException {
        at.packet(false, 0xfffe, 0x00);
        int s = at.statusAfter();
        return (s & IdeChannel.ERR) == 0 ? 0 : rig.in8(CH, 1) >> 4;
    }

    /** REQUEST SENSE: {key, asc}. */
    private int[] requestSense() throws InterruptedException {
        at.packet(false, 0xfffe, 0x03, 0, 0, 0, 18, 0);
        byte[] d = at.dataIn();
        return new int[] {d[2] & 0x0f, d[12] & 0xff};
    }

    /** GET EVENT STATUS NOTIFICATION, polled, media class: {event code, media status byte}. */
    private int[] mediaEvent() throws InterruptedException {
        at.packet(false, 0xfffe, 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0);
        byte[] d = at.dataIn();
        assertEquals(4, d[2] & 7, "media event class");
        return new int[] {d[4] & 0x0f, d[5] & 0xff};
    }

    private long capacity() throws InterruptedException {
        at.packet(false, 0xfffe, 0x25);
        byte[] d = at.dataIn();
        return Atapi.u32(d, 0) + 1;
    }

    @Test
    void ejectThenInsertIsSeenAsLinuxSrChecksForIt() throws Exception {
        assertEquals(0, testUnitReady());
        assertEquals(40, capacity());
        assertEquals(0, mediaEvent()[0], "nothing pending before the change");

        rig.ide.changeMedium(2, null, "");
        int[] ev = mediaEvent();
        assertEquals(Atapi.MEDIA_REMOVAL, ev[0], "media removal event");
        assertEquals(0, ev[1] & 2, "no medium present");
        assertEquals(0, mediaEvent()[0], "the event is reported once");
        assertEquals(Atapi.NOT_READY, testUnitReady(), "TUR on an empty drive");
        assertArrayEquals(new int[] {Atapi.NOT_READY, Atapi.ASC_NO_MEDIUM}, requestSense(), "02/3A MEDIUM NOT PRESENT");
        at.packet(false, 0xfffe, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
        assertEquals(IdeChannel.ERR, at.statusAfter() & IdeChannel.ERR, "READ(10) without a disc");
        assertArrayEquals(new int[] {Atapi.NOT_READY, Atapi.ASC_NO_MEDIUM}, requestSense());
        at.packet(false, 0xfffe, 0x25);
        assertEquals(IdeChannel.ERR, at.statusAfter() & IdeChannel.ERR, "READ CAPACITY without a disc");
        assertEquals("", rig.ide.drive(2).medium());

        BlockDevice b = rig.images.open(secondIso, ImageFormat.RAW, true);
        rig.ide.changeMedium(2, b, "raw:" + secondIso);
        // sr_check_events: GESN first (it works through the unit attention), then TUR
        ev = mediaEvent();
        assertEquals(Atapi.NEW_MEDIA, ev[0], "new media event");
        assertEquals(2, ev[1] & 2, "medium present");
        assertEquals(Atapi.UNIT_ATTENTION, testUnitReady(), "the first TUR after the insert");
        assertArrayEquals(new int[] {Atapi.UNIT_ATTENTION, Atapi.ASC_MEDIUM_CHANGED}, requestSense(), "06/28");
        assertEquals(0, testUnitReady(), "ready after the attention was reported");
        assertEquals(64, capacity(), "the new disc's capacity");
        at.packet(false, 0x2000, 0x28, 0, 0, 0, 0, 50, 0, 0, 6, 0);
        assertArrayEquals(Arrays.copyOfRange(second, 50 * 2048, 56 * 2048), at.dataIn(), "READ(10) reads the new disc");
        assertEquals("raw:" + secondIso, rig.ide.drive(2).medium());
        // the first disc was closed behind the drive's queued I/O: it may be opened for writing now
        rig.executor.submit(() -> { }).get();
        rig.images.open(tmp.resolve("first.iso"), ImageFormat.RAW, false).close();
    }

    @Test
    void aReadInFlightEndsWithTheChangeAndALateCompletionIsDropped() throws Exception {
        rig.prd(0x8000, 0x10000, 4 * 2048);
        at.packet(true, 0, 0x28, 0, 0, 0, 0, 20, 0, 0, 4, 0); // waits for the bus master: DMA_WAIT
        BlockDevice b = rig.images.open(secondIso, ImageFormat.RAW, true);
        rig.ide.changeMedium(2, b, "raw:" + secondIso);
        int s = at.statusAfter();
        assertEquals(IdeChannel.ERR, s & (IdeChannel.ERR | IdeChannel.DRQ), "the read ends with a check condition");
        assertEquals(Atapi.UNIT_ATTENTION << 4, rig.in8(CH, 1) & 0xf0);
        assertEquals(0, testUnitReady(), "the attention was that check condition");
    }

    @Test
    void aHardDiskHasNoMediumToChange() throws Exception {
        Path hda = IdeRig.rawFile(tmp.resolve("hda.img"), 1 << 20);
        try (IdeRig r = new IdeRig(1 << 16).disk(0, hda, false).start()) {
            assertThrows(IllegalArgumentException.class, () -> r.ide.changeMedium(0, null, ""));
            assertThrows(IllegalArgumentException.class, () -> r.ide.changeMedium(1, null, ""));
        }
    }

    @Test
    void theStateRecordCarriesTheMediumAndTheNextInstanceOpensIt() throws Exception {
        rig.ide.changeMedium(2, rig.images.open(secondIso, ImageFormat.RAW, true), "raw:" + secondIso);
        IdeState saved = rig.ide.saveState();
        assertEquals("raw:" + secondIso, saved.secondary().master().medium());
        assertEquals(Atapi.NEW_MEDIA, saved.secondary().master().mediaEvent());
        assertTrue(saved.secondary().master().unitAttention());
        IdeState back = IdeState.fromBytes(saved.toBytes());
        assertEquals(saved, back);
        rig.close();
        // the next qemu-dm opened the configured (first) disc; the record says the second is in
        rig = new IdeRig(1 << 20).cdrom(2, tmp.resolve("first.iso")).start();
        at.rig = rig;
        rig.ide.restoreState(back, (format, path) -> rig.images.open(Path.of(path), format, true));
        assertEquals("raw:" + secondIso, rig.ide.drive(2).medium());
        assertEquals(Atapi.UNIT_ATTENTION, testUnitReady(), "the pending attention went over too");
        assertEquals(64, capacity());

        // an ejected drive stays empty across the hand-over
        rig.ide.changeMedium(2, null, "");
        IdeState empty = IdeState.fromBytes(rig.ide.saveState().toBytes());
        rig.close();
        rig = new IdeRig(1 << 20).cdrom(2, tmp.resolve("first.iso")).start();
        at.rig = rig;
        rig.ide.restoreState(empty, (format, path) -> rig.images.open(Path.of(path), format, true));
        assertNull(rig.ide.drive(2).image());
        assertEquals(Atapi.NOT_READY, testUnitReady());

        // a medium that is gone by then: the drive is empty and the guest told of a removal
        Path third = Files.write(tmp.resolve("third.iso"), first);
        rig.ide.changeMedium(2, rig.images.open(third, ImageFormat.RAW, true), "raw:" + third);
        IdeState gone = IdeState.fromBytes(rig.ide.saveState().toBytes());
        rig.close();
        Files.delete(third);
        rig = new IdeRig(1 << 20).cdrom(2, tmp.resolve("first.iso")).start();
        at.rig = rig;
        rig.ide.restoreState(gone, (format, path) -> rig.images.open(Path.of(path), format, true));
        assertNull(rig.ide.drive(2).image());
        assertEquals(Atapi.MEDIA_REMOVAL, mediaEvent()[0]);
        assertTrue(rig.log.stream().anyMatch(l -> l.contains("does not open")), String.valueOf(rig.log));
    }

    @Test
    void aVersionOneRecordIsStillRead() throws Exception {
        byte[] v2 = rig.ide.saveState().toBytes();
        // rewrite as version 1: per drive the media event was a boolean and no medium followed
        IdeState s = IdeState.fromBytes(v2);
        byte[] v1 = VersionOne.of(s);
        IdeState read = IdeState.fromBytes(v1);
        assertNull(read.secondary().master().medium(), "a version 1 record does not know the medium");
        assertEquals(s.timing()[1], read.timing()[1]);
    }

    /** Writes a record the way version 1 did (for the compatibility test only). */
    static final class VersionOne {
        static byte[] of(IdeState s) throws Exception {
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            try (java.io.DataOutputStream out = new java.io.DataOutputStream(b)) {
                out.writeInt(IdeState.MAGIC);
                out.writeInt(1);
                out.write(s.timing());
                for (IdeState.Channel c : new IdeState.Channel[] {s.primary(), s.secondary()}) {
                    for (int v : c.taskFile()) {
                        out.writeByte(v);
                    }
                    for (IdeState.Drive d : new IdeState.Drive[] {c.master(), c.slave()}) {
                        out.writeByte(d.status());
                        out.writeByte(d.error());
                        out.writeByte(d.multiple());
                        out.writeByte(d.heads());
                        out.writeByte(d.sectorsPerTrack());
                        out.writeByte(d.mwdmaMode());
                        out.writeBoolean(d.writeCache());
                        out.writeByte(d.senseKey());
                        out.writeByte(d.asc());
                        out.writeBoolean(d.unitAttention());
                        out.writeBoolean(d.mediaEvent() != 0);
                    }
                    out.writeBoolean(c.irqPending());
                    out.writeByte(c.phase());
                    out.writeByte(c.unit());
                    out.writeByte(c.command());
                    out.writeInt(c.buffer().length);
                    out.write(c.buffer());
                    out.writeInt(c.bufPos());
                    out.writeLong(c.remaining());
                    out.writeLong(c.diskOffset());
                    out.writeBoolean(c.atapiDma());
                    out.writeShort(c.atapiLimit());
                    out.writeByte(c.bmCommand());
                    out.writeByte(c.bmStatus());
                    out.writeInt(c.prdTable());
                }
            }
            return b.toByteArray();
        }
    }
}
