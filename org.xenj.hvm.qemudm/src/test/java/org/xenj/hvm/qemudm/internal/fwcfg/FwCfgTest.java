package org.xenj.hvm.qemudm.internal.fwcfg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * fw_cfg as SeaBIOS reads it (src/fw/paravirt.c): select with a 16-bit write to 0x510, bytes from
 * 0x511; the signature, the ID without the DMA bit, little-endian numbers, the big-endian file
 * directory with keys from 0x20 in name order, and the files a firmware-booted domain gets.
 */
class FwCfgTest {

    /** RAM 0-640 KiB and 1 MiB-{@code top}, as the HVM layout gives (the test only asks isRam). */
    static GuestMemory ram(long top) {
        return (GuestMemory) java.lang.reflect.Proxy.newProxyInstance(FwCfgTest.class.getClassLoader(),
                new Class<?>[] {GuestMemory.class}, (proxy, m, args) -> {
                    if (m.getName().equals("isRam")) {
                        long gpa = (Long) args[0];
                        return gpa < 0xa0000 || gpa >= 0x100000 && gpa < top;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    static byte[] read(FwCfg f, int key, int len) {
        f.ioWrite(0, 2, key);
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) f.ioRead(1, 1);
        }
        return b;
    }

    record Entry(String name, int key, int size) {
    }

    static List<Entry> directory(FwCfg f) {
        ByteBuffer count = ByteBuffer.wrap(read(f, FwCfgItems.FILE_DIR, 4)).order(ByteOrder.BIG_ENDIAN);
        int n = count.getInt();
        ByteBuffer dir = ByteBuffer.wrap(read(f, FwCfgItems.FILE_DIR, 4 + 64 * n)).order(ByteOrder.BIG_ENDIAN);
        dir.getInt();
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int size = dir.getInt();
            int key = dir.getShort() & 0xffff;
            dir.getShort();
            byte[] name = new byte[56];
            dir.get(name);
            String s = new String(name, StandardCharsets.US_ASCII);
            entries.add(new Entry(s.substring(0, s.indexOf('\0')), key, size));
        }
        return entries;
    }

    static byte[] file(FwCfg f, String name) {
        for (Entry e : directory(f)) {
            if (e.name.equals(name)) {
                return read(f, e.key, e.size);
            }
        }
        throw new AssertionError("no fw_cfg file " + name);
    }

    static final List<FirmwareConfig.IdeDrive> HDA_AND_HDC = List.of(new FirmwareConfig.IdeDrive(0, 0, false),
            new FirmwareConfig.IdeDrive(1, 0, true));

    @Test
    void seaBiosFindsTheSignatureTheTraditionalInterfaceAndTheNumbers() {
        FwCfg f = new FwCfg(FirmwareConfig.forDomain(Map.of(), 1, ram(256L << 20), List.of()));
        assertEquals("QEMU", new String(read(f, 0, 4), StandardCharsets.US_ASCII));
        assertEquals(1, ByteBuffer.wrap(read(f, 1, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt(), "ID: no DMA bit");
        assertEquals(256L << 20, ByteBuffer.wrap(read(f, 3, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong(), "RAM size");
        assertEquals(1, ByteBuffer.wrap(read(f, 5, 2)).order(ByteOrder.LITTLE_ENDIAN).getShort(), "nb_cpus");
        assertEquals(0, ByteBuffer.wrap(read(f, 0x0e, 2)).order(ByteOrder.LITTLE_ENDIAN).getShort(), "no boot menu");
        assertArrayEquals(new byte[8], read(f, 0x1234, 8), "an unknown key reads as zeros");
        f.ioWrite(0, 2, 0);
        read(f, 0, 4);
        assertEquals(0, f.ioRead(1, 1), "past the item's end: zeros");
    }

    @Test
    void theDirectoryListsTheFilesInNameOrderFrom0x20() {
        FwCfg f = new FwCfg(FirmwareConfig.forDomain(Map.of("boot", "cd"), 1, ram(64L << 20), HDA_AND_HDC));
        List<Entry> dir = directory(f);
        assertEquals(List.of("bootorder", "etc/boot-fail-wait", "etc/e820", "etc/sercon-port"),
                dir.stream().map(Entry::name).toList());
        assertEquals(List.of(0x20, 0x21, 0x22, 0x23), dir.stream().map(Entry::key).toList());
        ByteBuffer e820 = ByteBuffer.wrap(file(f, "etc/e820")).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0, e820.getLong());
        assertEquals(64L << 20, e820.getLong(), "RAM from 0 to the top, as QEMU gives it");
        assertEquals(1, e820.getInt());
        assertEquals(0x3f8, ByteBuffer.wrap(file(f, "etc/sercon-port")).order(ByteOrder.LITTLE_ENDIAN).getShort());
        assertEquals(-1, ByteBuffer.wrap(file(f, "etc/boot-fail-wait")).order(ByteOrder.LITTLE_ENDIAN).getInt());
    }

    @Test
    void bootOrderFollowsXlsBootLetters() {
        assertEquals("/pci@i0cf8/ide@1,1/drive@0/disk@0\n/pci@i0cf8/ide@1,1/drive@1/disk@0\0",
                FirmwareConfig.bootOrder("cd", HDA_AND_HDC));
        assertEquals("/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/ide@1,1/drive@0/disk@0\0",
                FirmwareConfig.bootOrder("dc", HDA_AND_HDC));
        assertEquals("/pci@i0cf8/ide@1,1/drive@1/disk@0\0", FirmwareConfig.bootOrder("d", HDA_AND_HDC));
        assertEquals("/pci@i0cf8/ide@1,1/drive@0/disk@0\0", FirmwareConfig.bootOrder("c", HDA_AND_HDC));
        assertEquals("/pci@i0cf8/ide@1,1/drive@0/disk@0\n/pci@i0cf8/ide@1,1/drive@1/disk@0\0",
                FirmwareConfig.bootOrder(null, HDA_AND_HDC), "xl's default is cd");
        assertEquals("\0", FirmwareConfig.bootOrder("an", HDA_AND_HDC), "no floppy, no network boot here");
        assertEquals("/pci@i0cf8/ide@1,1/drive@1/disk@0\0", FirmwareConfig.bootOrder("\"d\"", HDA_AND_HDC),
                "quotes are ignored");
        FwCfg f = new FwCfg(FirmwareConfig.forDomain(Map.of("boot", "d", "boot_menu", "1"), 2, ram(32L << 20), HDA_AND_HDC));
        assertEquals("/pci@i0cf8/ide@1,1/drive@1/disk@0\0", new String(file(f, "bootorder"), StandardCharsets.US_ASCII));
        assertEquals(1, ByteBuffer.wrap(read(f, 0x0e, 2)).order(ByteOrder.LITTLE_ENDIAN).getShort(), "boot_menu=1");
        assertEquals(2, ByteBuffer.wrap(read(f, 5, 2)).order(ByteOrder.LITTLE_ENDIAN).getShort(), "nb_cpus");
    }

    @Test
    void stateRoundTripsAndDamagedRecordsAreRefused() throws IOException {
        FwCfg f = new FwCfg(FirmwareConfig.forDomain(Map.of(), 1, ram(32L << 20), List.of()));
        f.ioWrite(0, 2, 0);
        f.ioRead(1, 1);
        f.ioRead(1, 1);
        FwCfgState s = FwCfgState.fromBytes(f.saveState().toBytes());
        FwCfg g = new FwCfg(FirmwareConfig.forDomain(Map.of(), 1, ram(32L << 20), List.of()));
        g.restoreState(s);
        assertEquals('M', g.ioRead(1, 1), "the next byte of \"QEMU\"");
        assertThrows(IOException.class, () -> FwCfgState.fromBytes(new byte[3]));
        byte[] bad = s.toBytes();
        bad[7] = 9;
        assertThrows(IOException.class, () -> FwCfgState.fromBytes(bad));
    }

    /** A guest hammering the ports with anything: 200,000 random accesses, no exception. */
    @Test
    void randomPortAccessesNeverFail() {
        FwCfg f = new FwCfg(FirmwareConfig.forDomain(Map.of(), 1, ram(32L << 20), HDA_AND_HDC));
        SplittableRandom r = new SplittableRandom(14);
        int errors = 0;
        for (int i = 0; i < 200_000; i++) {
            int port = r.nextInt(2);
            int size = 1 << r.nextInt(3);
            try {
                if (r.nextBoolean()) {
                    f.ioWrite(port, size, r.nextInt());
                } else {
                    f.ioRead(port, size);
                }
            } catch (RuntimeException e) {
                errors++;
            }
        }
        assertEquals(0, errors);
    }
}
