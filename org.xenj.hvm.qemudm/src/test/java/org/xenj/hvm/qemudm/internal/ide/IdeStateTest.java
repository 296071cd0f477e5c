package org.xenj.hvm.qemudm.internal.ide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hand-over: a controller in the middle of a PIO read, or with a DMA command waiting for the
 * engine, is saved as bytes, closed (its image released), and a new controller on a freshly opened
 * image restored from those bytes finishes the transfer with the right data.
 */
class IdeStateTest {

    @TempDir
    Path tmp;

    @Test
    void aPioReadHalfwayContinuesInTheNextInstance() throws Exception {
        byte[] disk = new byte[64 * 512];
        new Random(5).nextBytes(disk);
        Path img = Files.write(tmp.resolve("hda.img"), disk);
        byte[] state;
        byte[] first;
        try (IdeRig a = new IdeRig(1 << 16).disk(0, img, false).start()) {
            a.out8(0, 2, 2);
            a.out8(0, 7, 0xc6); // SET MULTIPLE 2
            a.waitNotBusy(0);
            a.lba28(0, 0, 10, 4);
            a.out8(0, 7, 0xc4); // READ MULTIPLE 4 sectors
            a.waitNotBusy(0);
            first = a.pioIn(0, 300);
            state = a.ide.saveState().toBytes();
        }
        try (IdeRig b = new IdeRig(1 << 16).disk(0, img, false).start()) {
            b.ide.restoreState(IdeState.fromBytes(state));
            byte[] rest = b.pioIn(0, 1024 - 300);
            b.waitNotBusy(0);
            byte[] second = b.pioIn(0, 1024);
            byte[] all = new byte[2048];
            System.arraycopy(first, 0, all, 0, 300);
            System.arraycopy(rest, 0, all, 300, rest.length);
            System.arraycopy(second, 0, all, 1024, 1024);
            assertArrayEquals(Arrays.copyOfRange(disk, 10 * 512, 14 * 512), all);
            assertEquals(IdeChannel.DRDY | IdeChannel.DSC, b.in8(0, 7));
            assertEquals(new IdeState(b.ide.saveState().timing(), b.ide.saveState().primary(), b.ide.saveState().secondary()),
                    b.ide.saveState());
        }
    }

    @Test
    void aDmaCommandWaitingForTheEngineRunsInTheNextInstance() throws Exception {
        byte[] disk = new byte[64 * 512];
        new Random(6).nextBytes(disk);
        Path img = Files.write(tmp.resolve("hda.img"), disk);
        byte[] state;
        try (IdeRig a = new IdeRig(1 << 16).disk(0, img, false).start()) {
            a.prd(0x1000, 0x4000, 2048);
            a.bm().ioWrite(4, 4, 0x1000);
            a.bm().ioWrite(0, 1, IdeChannel.BM_TO_MEMORY);
            a.lba28(0, 0, 20, 4);
            a.out8(0, 7, 0xc8);
            state = a.ide.saveState().toBytes();
        }
        try (IdeRig b = new IdeRig(1 << 16).disk(0, img, false).start()) {
            b.prd(0x1000, 0x4000, 2048); // the guest's RAM travels with the domain
            b.ide.restoreState(IdeState.fromBytes(state));
            b.bm().ioWrite(0, 1, IdeChannel.BM_TO_MEMORY | IdeChannel.BM_START);
            assertEquals(IdeChannel.BMS_INTR, b.dmaWait(0) & 7);
            byte[] mem = new byte[2048];
            b.memory.read(0x4000, mem, 0, mem.length);
            assertArrayEquals(Arrays.copyOfRange(disk, 20 * 512, 24 * 512), mem);
        }
    }

    @Test
    void damagedOrForeignRecordsAreRefused() throws Exception {
        Path img = Files.write(tmp.resolve("hda.img"), new byte[4096]);
        byte[] good;
        try (IdeRig a = new IdeRig(1 << 16).disk(0, img, false).start()) {
            good = a.ide.saveState().toBytes();
        }
        IdeState.fromBytes(good);
        byte[] v3 = good.clone();
        v3[7] = 3; // a version this qemu-dm does not know
        assertThrows(IOException.class, () -> IdeState.fromBytes(v3));
        assertThrows(IOException.class, () -> IdeState.fromBytes(Arrays.copyOf(good, good.length - 1)));
        assertThrows(IOException.class, () -> IdeState.fromBytes(Arrays.copyOf(good, good.length + 1)));
        Random r = new Random(7);
        int refused = 0;
        try (IdeRig b = new IdeRig(1 << 12).disk(0, img, false).start()) {
        for (int i = 0; i < 20_000; i++) {
            byte[] m = good.clone();
            for (int k = 0; k <= r.nextInt(4); k++) {
                m[8 + r.nextInt(m.length - 8)] = (byte) r.nextInt(256);
            }
            try {
                b.ide.restoreState(IdeState.fromBytes(m)); // accepted records restore into a real controller
            } catch (IOException e) {
                refused++;
            }
        }
        }
        System.out.println("[ide-state] 20000 mutated records: " + refused + " refused, the rest restored");
    }
}
