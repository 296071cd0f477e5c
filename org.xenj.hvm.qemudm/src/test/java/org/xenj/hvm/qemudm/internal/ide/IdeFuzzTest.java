package org.xenj.hvm.qemudm.internal.ide;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * A hostile guest: 10^6 random accesses to the command blocks, control ports and bus-master
 * registers (command bytes biased towards the ones the device implements, so that transfers really
 * start), random PRD tables (addresses in and out of RAM, odd counts, no end), executor work run at
 * random moments (so completions race with the guest's writes, SRST and engine stops), and state
 * records saved and restored on the way. Any exception out of a port handler, an executor task or
 * a save/restore is an internal error; there must be none. (The array memory throws on any access
 * outside RAM, so a DMA that escaped the checks would show up as an internal error too.)
 */
class IdeFuzzTest {

    static final int OPS = Integer.getInteger("xenj.ide.fuzz.ops", 1_000_000);
    static final int RAM = 1 << 18;
    static final int[] COMMANDS = {0xec, 0xa1, 0xa0, 0x20, 0x21, 0x24, 0x29, 0x30, 0x34, 0x39, 0xc4, 0xc5, 0xc6, 0xc8, 0xca,
            0x25, 0x35, 0xe7, 0xea, 0xef, 0x91, 0x90, 0x08, 0x40, 0x10, 0xe5, 0x00, 0xff};

    @TempDir
    Path tmp;

    @Test
    void millionRandomAccessesNoInternalError() throws Exception {
        Path hda = IdeRig.rawFile(tmp.resolve("hda.img"), 1 << 20);
        Path hdb = IdeRig.rawFile(tmp.resolve("hdb.img"), 1 << 19);
        Path iso = IdeRig.rawFile(tmp.resolve("cd.iso"), 64 * 2048);
        Random r = new Random(Long.getLong("xenj.ide.fuzz.seed", 20261205));
        ArrayDeque<Runnable> queue = new ArrayDeque<>();
        List<Throwable> internal = new ArrayList<>();
        IdeRig.ArrayMemory mem = new IdeRig.ArrayMemory(RAM);
        try (BlockImagesService images = new BlockImagesService()) {
            List<IdeDrive> drives = List.of(
                    new IdeDrive(IdeDrive.Kind.DISK, 0, "hda", images.open(hda, ImageFormat.RAW, false)),
                    new IdeDrive(IdeDrive.Kind.DISK, 1, "hdb", images.open(hdb, ImageFormat.RAW, true)),
                    new IdeDrive(IdeDrive.Kind.CDROM, 2, "hdc", images.open(iso, ImageFormat.RAW, true)));
            List<String> log = new ArrayList<>();
            Piix3Ide ide = new Piix3Ide(drives, mem, queue::add, (line, level) -> {
                if (line != 14 && line != 15) {
                    internal.add(new AssertionError("IRQ " + line));
                }
            }, line -> {
                if (log.size() < 1000) {
                    log.add(line);
                }
            });
            IoHandler[] cmd = {ide.commandBlock(0), ide.commandBlock(1)};
            IoHandler[] ctl = {ide.controlBlock(0), ide.controlBlock(1)};
            IoHandler bm = ide.bars().get(4).io();
            int[] sizes = {1, 2, 4};
            long tasks = 0;
            int restores = 0;
            for (int op = 0; op < OPS; op++) {
                int ch = r.nextInt(2);
                int k = r.nextInt(100);
                try {
                    if (k < 30) {
                        int reg = 1 + r.nextInt(7);
                        int v = reg == 7 && r.nextInt(4) > 0 ? COMMANDS[r.nextInt(COMMANDS.length)]
                                : reg == 6 ? (r.nextBoolean() ? 0xe0 : 0xa0) | (r.nextBoolean() ? 0x10 : 0) | r.nextInt(16)
                                : r.nextInt(256);
                        if (reg == 7 && r.nextBoolean()) { // a plausible task file first, so transfers really run
                            cmd[ch].ioWrite(6, 1, 0xe0 | (r.nextInt(4) == 0 ? 0x10 : 0));
                            cmd[ch].ioWrite(2, 1, r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(16));
                            cmd[ch].ioWrite(3, 1, r.nextInt(64));
                            cmd[ch].ioWrite(4, 1, r.nextInt(8) == 0 ? r.nextInt(256) : 0);
                            cmd[ch].ioWrite(5, 1, 0);
                        }
                        cmd[ch].ioWrite(reg, 1, v);
                    } else if (k < 45) {
                        cmd[ch].ioRead(r.nextInt(8), 1);
                    } else if (k < 58) {
                        int size = r.nextBoolean() ? 2 : sizes[r.nextInt(3)];
                        for (int i = r.nextInt(64); i >= 0; i--) {
                            if (r.nextBoolean()) {
                                cmd[ch].ioRead(0, size);
                            } else {
                                cmd[ch].ioWrite(0, size, r.nextInt());
                            }
                        }
                    } else if (k < 62) {
                        ctl[ch].ioWrite(0, 1, r.nextInt(8) == 0 ? 0x04 : r.nextInt(4) == 0 ? r.nextInt(256) : r.nextInt(2) << 1);
                        ctl[ch].ioRead(0, 1);
                    } else if (k < 72) {
                        int reg = r.nextInt(8);
                        int size = sizes[r.nextInt(3)];
                        if (r.nextBoolean()) {
                            bm.ioRead(8 * ch + reg, Math.min(size, 8 - reg));
                        } else {
                            int v = reg == 4 && r.nextInt(3) > 0 ? prdTable(r) : r.nextInt();
                            bm.ioWrite(8 * ch + reg, Math.min(size, 8 - reg), v);
                        }
                    } else if (k < 76) {
                        writePrds(r, mem);
                    } else if (k < 97) {
                        for (int n = r.nextInt(4); n >= 0 && !queue.isEmpty(); n--) {
                            queue.poll().run();
                            tasks++;
                        }
                    } else if (k < 98 && r.nextInt(50) == 0) {
                        while (!queue.isEmpty()) { // save takes a quiesced device: the executor drains
                            queue.poll().run();
                            tasks++;
                        }
                        byte[] s = ide.saveState().toBytes();
                        ide.restoreState(IdeState.fromBytes(s));
                        restores++;
                    } else {
                        ide.configWrite(0x40 + r.nextInt(16), 1, r.nextInt(256));
                    }
                } catch (Throwable t) {
                    internal.add(t);
                }
            }
            while (!queue.isEmpty()) {
                try {
                    queue.poll().run();
                    tasks++;
                } catch (Throwable t) {
                    internal.add(t);
                }
            }
            System.out.printf("[ide-fuzz] %d accesses, %d executor tasks, %d save/restore round trips, %d internal errors%n",
                    OPS, tasks, restores, internal.size());
            if (!internal.isEmpty()) {
                internal.get(0).printStackTrace();
            }
            assertEquals(0, internal.size(), "internal errors, first: " + (internal.isEmpty() ? "" : internal.get(0)));
            ide.close();
        }
    }

    /** A table somewhere in the lower RAM, sometimes outside RAM altogether. */
    private static int prdTable(Random r) {
        return r.nextInt(10) == 0 ? r.nextInt() & ~3 : 0x1000 * r.nextInt(4);
    }

    /** Random tables at 0x0000-0x3fff: regions in [0x4000, RAM-16K) or far outside RAM, random counts and ends. */
    private static void writePrds(Random r, IdeRig.ArrayMemory mem) {
        int table = 0x1000 * r.nextInt(4);
        int entries = 1 + r.nextInt(8);
        for (int i = 0; i < entries; i++) {
            long addr;
            int count = r.nextInt(4) == 0 ? 0 : r.nextInt(0x10000);
            if (r.nextInt(8) == 0) {
                addr = r.nextInt() & 0xffff_ffffL;
            } else {
                int len = count == 0 ? 0x10000 : count;
                addr = 0x4000 + r.nextInt(Math.max(1, RAM - 16384 - 0x4000 - len));
                if (0x4000 + len > RAM - 16384) {
                    addr = 0x4000;
                    count = 0x1000;
                }
            }
            boolean last = i == entries - 1 ? r.nextInt(6) > 0 : r.nextInt(20) == 0;
            mem.write32(table + 8L * i, (int) addr);
            mem.write32(table + 8L * i + 4, count | (last ? 0x8000_0000 : 0) | (r.nextInt(10) == 0 ? r.nextInt() & 0x7fff_0000 : 0));
        }
    }
}
