package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The MP table as a kernel's parser reads it (MultiProcessor Specification 1.4, chapter 4: the
 * floating pointer structure, table 4-1, the configuration table header, table 4-2, and the base
 * entries, tables 4-3 to 4-9): signatures, lengths, both checksums, and what each entry says.
 */
class MpTableTest {

    /** PCI devices 1-3 pin A..D through the links to 10, 10, 11, 11 as PciFirmware routes them. */
    private static int pciIrq(int device, int pin) {
        return device >= 1 && device <= 3 ? new int[] {10, 10, 11, 11}[(device + pin - 1) & 3] : -1;
    }

    private record Parsed(int processors, int bsps, List<Integer> apicIds, int buses, int ioApics, int ioApicId,
            List<int[]> ioInterrupts, List<int[]> localInterrupts) {
    }

    /** A parser written from the specification: refuses what a kernel would refuse. */
    private static Parsed parse(byte[] bytes, long base) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("_MP_", new String(bytes, 0, 4, StandardCharsets.US_ASCII));
        assertEquals(1, bytes[8], "floating pointer length in paragraphs");
        assertEquals(4, bytes[9], "spec revision 1.4");
        assertEquals(0, sum(bytes, 0, 16), "floating pointer checksum");
        assertEquals(0, bytes[11], "feature byte 1: a configuration table follows, no default configuration");
        int table = (int) (b.getInt(4) - base);
        assertEquals("PCMP", new String(bytes, table, 4, StandardCharsets.US_ASCII));
        int length = b.getShort(table + 4) & 0xffff;
        assertEquals(bytes.length - table, length, "base table length");
        assertEquals(0, sum(bytes, table, length), "configuration table checksum");
        assertEquals(0xfee00000, b.getInt(table + 36), "local APIC address");
        int count = b.getShort(table + 34) & 0xffff;
        int p = table + 44;
        int processors = 0, bsps = 0, buses = 0, ioApics = 0, ioApicId = -1;
        List<Integer> ids = new ArrayList<>();
        List<int[]> io = new ArrayList<>(), local = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int type = bytes[p] & 0xff;
            switch (type) {
                case 0 -> {
                    processors++;
                    ids.add(bytes[p + 1] & 0xff);
                    assertEquals(1, bytes[p + 3] & 1, "processor enabled");
                    bsps += bytes[p + 3] >> 1 & 1;
                    p += 20;
                }
                case 1 -> {
                    buses++;
                    p += 8;
                }
                case 2 -> {
                    ioApics++;
                    ioApicId = bytes[p + 1] & 0xff;
                    assertEquals(0xfec00000, b.getInt(p + 4));
                    p += 8;
                }
                case 3, 4 -> {
                    int[] e = {bytes[p + 1], b.getShort(p + 2), bytes[p + 4], bytes[p + 5] & 0xff, bytes[p + 6] & 0xff, bytes[p + 7]};
                    (type == 3 ? io : local).add(e);
                    p += 8;
                }
                default -> throw new AssertionError("unknown entry type " + type + " at " + p);
            }
        }
        assertEquals(table + length, p, "entries fill the table exactly");
        return new Parsed(processors, bsps, ids, buses, ioApics, ioApicId, io, local);
    }

    private static int sum(byte[] bytes, int from, int length) {
        int s = 0;
        for (int i = from; i < from + length; i++) {
            s += bytes[i];
        }
        return s & 0xff;
    }

    @Test
    void twoProcessorsTheIoApicAndTheRoutingParse() {
        Parsed t = parse(MpTable.build(2, 2, 0x6a3, 0x201, MpTableTest::pciIrq), MpTable.FLOATING_POINTER_ADDRESS);
        assertEquals(2, t.processors());
        assertEquals(1, t.bsps(), "exactly one BSP");
        assertEquals(List.of(0, 1), t.apicIds());
        assertEquals(2, t.buses());
        assertEquals(1, t.ioApics());
        assertEquals(2, t.ioApicId());
        // ISA: IRQ 0 on pin 2, no entry for the cascade (2) nor the PCI IRQs 10 and 11
        List<Integer> isaIrqs = new ArrayList<>();
        for (int[] e : t.ioInterrupts()) {
            if (e[2] == 1) {
                isaIrqs.add(e[3]);
                assertEquals(e[3] == 0 ? 2 : e[3], e[5], "ISA IRQ " + e[3] + "'s pin");
                assertEquals(0, e[1], "ISA: conforms to the bus (edge, active high)");
            } else {
                assertEquals(0, e[2], "PCI bus 0");
                int device = e[3] >> 2, pin = (e[3] & 3) + 1;
                assertEquals(pciIrq(device, pin), e[5], "device " + device + " pin " + pin);
                assertEquals(0x0f, e[1], "PCI: level, active low");
            }
            assertEquals(2, e[4], "to the IOAPIC");
        }
        assertEquals(List.of(0, 1, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15), isaIrqs);
        assertEquals(12, t.ioInterrupts().size() - isaIrqs.size(), "3 devices x 4 pins");
        assertEquals(2, t.localInterrupts().size());
        assertEquals(3, t.localInterrupts().get(0)[0], "LINT0 ExtINT");
        assertEquals(1, t.localInterrupts().get(1)[0], "LINT1 NMI");
        assertEquals(0xff, t.localInterrupts().get(0)[4], "on every local APIC");
    }

    @Test
    void oneAndManyProcessorsParse() {
        assertEquals(1, parse(MpTable.build(1, 1, 0, 0, (d, p) -> -1), MpTable.FLOATING_POINTER_ADDRESS).processors());
        Parsed many = parse(MpTable.build(32, 15, 0, 0, MpTableTest::pciIrq), MpTable.FLOATING_POINTER_ADDRESS);
        assertEquals(32, many.processors());
        assertEquals(31, many.apicIds().get(31));
    }

    @Test
    void aDamagedTableFailsItsChecksum() {
        byte[] t = MpTable.build(2, 2, 0, 0, MpTableTest::pciIrq);
        t[40] ^= 1;
        assertTrue(sum(t, 16, t.length - 16) != 0);
        byte[] f = MpTable.build(2, 2, 0, 0, MpTableTest::pciIrq);
        f[9] = 1;
        assertTrue(sum(f, 0, 16) != 0);
    }

    @Test
    void countsAndIdsTheTableCannotHoldAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> MpTable.build(0, 1, 0, 0, (d, p) -> -1));
        assertThrows(IllegalArgumentException.class, () -> MpTable.build(256, 255, 0, 0, (d, p) -> -1));
        assertThrows(IllegalArgumentException.class, () -> MpTable.build(2, 1, 0, 0, (d, p) -> -1), "IOAPIC ID taken by a CPU");
        // a PIRQ route outside 1-15 (unrouted 0x80, or the timer's IRQ 0) gives no PCI entry
        Parsed t = parse(MpTable.build(1, 1, 0, 0, (d, p) -> d == 1 ? 0x80 : d == 2 ? 0 : -1), MpTable.FLOATING_POINTER_ADDRESS);
        assertTrue(t.ioInterrupts().stream().allMatch(e -> e[2] == 1));
    }
}
