package org.xenj.hypervisor.internal.builder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntBinaryOperator;

import org.xenj.hypervisor.internal.platform.apic.IoApic;
import org.xenj.hypervisor.internal.platform.apic.LocalApic;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * The Intel MultiProcessor Specification 1.4 tables a directly booted kernel finds the other vCPUs,
 * the IOAPIC and the interrupt routing in, as firmware would leave them (hvmloader and SeaBIOS
 * write the same kind of table): the MP floating pointer structure (16 bytes, "_MP_", in the BIOS
 * area 0xF0000-0xFFFFF, which the e820 map reserves) pointing at the configuration table ("PCMP")
 * that follows it. Entries (MP spec chapter 4): one processor per vCPU (APIC ID = vCPU number, vCPU
 * 0 the BSP), bus 0 PCI and bus 1 ISA, the IOAPIC, ISA IRQs 0-15 on their IOAPIC pins (IRQ 0 on
 * pin 2, no entry for the cascade nor for the IRQs PCI links use, which are level-triggered), every
 * PCI device's INTA#-INTD# on the pin of the IRQ its PIRQ link is routed to (level, active low),
 * and LINT0 = ExtINT, LINT1 = NMI on every local APIC.
 */
public final class MpTable {

    /** Where the floating pointer goes; the configuration table follows it. */
    public static final long FLOATING_POINTER_ADDRESS = 0xf5000;
    static final int FLOATING_POINTER_SIZE = 16;
    static final int HEADER_SIZE = 44;
    static final int PROCESSOR = 0, BUS = 1, IOAPIC = 2, IO_INTERRUPT = 3, LOCAL_INTERRUPT = 4;
    static final int INT = 0, NMI = 1, EXTINT = 3;
    static final int PCI_BUS = 0, ISA_BUS = 1;
    /** Polarity active low (bits 1:0 = 3), trigger level (bits 3:2 = 3): PCI INTx. */
    static final int LEVEL_LOW = 0x0f;
    /** Local APIC IDs are 8 bits, 0xff broadcast. */
    public static final int MAX_CPUS = 255;

    private MpTable() {
    }

    /**
     * The floating pointer and configuration table, as the bytes at {@link #FLOATING_POINTER_ADDRESS}.
     *
     * @param cpus        vCPUs (local APIC IDs 0..cpus-1)
     * @param ioApicId    the IOAPIC's ID
     * @param cpuSignature CPUID leaf 1 EAX; {@code features} its EDX
     * @param pciIrq      (device, pin 1..4) to the ISA IRQ its PIRQ link is routed to, or -1
     * @throws IllegalArgumentException for a CPU count or IOAPIC ID the table cannot hold
     */
    public static byte[] build(int cpus, int ioApicId, int cpuSignature, int features, IntBinaryOperator pciIrq) {
        // The IOAPIC's ID register has 4 bits: beyond 15 vCPUs it repeats a CPU's APIC ID, which
        // xAPIC systems (this local APIC's version 0x14) ignore — IOAPIC IDs only named the serial APIC bus.
        if (cpus < 1 || cpus > MAX_CPUS || ioApicId < 0 || ioApicId > 0xfe || ioApicId < cpus && ioApicId != 15) {
            throw new IllegalArgumentException("MP table: " + cpus + " CPUs with IOAPIC ID " + ioApicId
                    + " (CPUs take APIC IDs 0.." + (cpus - 1) + ", the IOAPIC the next free one, or 15)");
        }
        List<byte[]> entries = new ArrayList<>();
        for (int cpu = 0; cpu < cpus; cpu++) {
            ByteBuffer e = entry(20, PROCESSOR);
            e.put((byte) cpu).put((byte) (LocalApic.VERSION_REGISTER & 0xff)).put((byte) (cpu == 0 ? 3 : 1)); // EN, BP
            e.putInt(cpuSignature).putInt(features);
            entries.add(e.array());
        }
        entries.add(bus(PCI_BUS, "PCI"));
        entries.add(bus(ISA_BUS, "ISA"));
        ByteBuffer io = entry(8, IOAPIC);
        io.put((byte) ioApicId).put((byte) (IoApic.VERSION_REGISTER & 0xff)).put((byte) 1).putInt((int) IoApic.DEFAULT_BASE);
        entries.add(io.array());
        boolean[] pciUses = new boolean[16];
        for (int device = 0; device < 32; device++) {
            for (int pin = 1; pin <= 4; pin++) {
                int irq = pciIrq.applyAsInt(device, pin);
                if (irq > 0 && irq < 16) {
                    pciUses[irq] = true;
                    entries.add(interrupt(IO_INTERRUPT, INT, LEVEL_LOW, PCI_BUS, device << 2 | (pin - 1), ioApicId, irq));
                }
            }
        }
        for (int irq = 0; irq < 16; irq++) {
            if (irq != 2 && !pciUses[irq]) {
                entries.add(interrupt(IO_INTERRUPT, INT, 0, ISA_BUS, irq, ioApicId, irq == 0 ? 2 : irq));
            }
        }
        entries.add(interrupt(LOCAL_INTERRUPT, EXTINT, 0, ISA_BUS, 0, 0xff, 0));
        entries.add(interrupt(LOCAL_INTERRUPT, NMI, 0, ISA_BUS, 0, 0xff, 1));

        int tableLength = HEADER_SIZE + entries.stream().mapToInt(b -> b.length).sum();
        ByteBuffer b = ByteBuffer.allocate(FLOATING_POINTER_SIZE + tableLength).order(ByteOrder.LITTLE_ENDIAN);
        b.put("_MP_".getBytes(StandardCharsets.US_ASCII));
        b.putInt((int) (FLOATING_POINTER_ADDRESS + FLOATING_POINTER_SIZE)); // the configuration table
        b.put((byte) 1).put((byte) 4); // length in 16-byte units, spec revision 1.4
        b.put((byte) 0); // checksum (byte 10), below
        b.put(new byte[5]); // feature byte 1 = 0: a configuration table is present; no IMCR (virtual wire)
        b.put(10, checksum(b.array(), 0, FLOATING_POINTER_SIZE));

        int t = FLOATING_POINTER_SIZE;
        b.put("PCMP".getBytes(StandardCharsets.US_ASCII));
        b.putShort((short) tableLength).put((byte) 4).put((byte) 0); // length, revision, checksum (below)
        b.put("XENJ    ".getBytes(StandardCharsets.US_ASCII)).put("XENJ HVM    ".getBytes(StandardCharsets.US_ASCII));
        b.putInt(0).putShort((short) 0); // no OEM table
        b.putShort((short) entries.size());
        b.putInt((int) LocalApic.DEFAULT_BASE);
        b.putShort((short) 0).put((byte) 0).put((byte) 0); // no extended table
        for (byte[] e : entries) {
            b.put(e);
        }
        b.put(t + 7, checksum(b.array(), t, tableLength));
        return b.array();
    }

    /** Writes {@link #build} at {@link #FLOATING_POINTER_ADDRESS}; returns the bytes written. */
    public static int write(GuestMemory memory, int cpus, int ioApicId, int cpuSignature, int features, IntBinaryOperator pciIrq) {
        byte[] bytes = build(cpus, ioApicId, cpuSignature, features, pciIrq);
        memory.write(FLOATING_POINTER_ADDRESS, bytes, 0, bytes.length);
        return bytes.length;
    }

    private static ByteBuffer entry(int size, int type) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN).put((byte) type);
    }

    private static byte[] bus(int id, String type) {
        ByteBuffer e = entry(8, BUS);
        e.put((byte) id).put(String.format("%-6s", type).getBytes(StandardCharsets.US_ASCII));
        return e.array();
    }

    private static byte[] interrupt(int type, int kind, int flags, int bus, int busIrq, int destination, int pin) {
        ByteBuffer e = entry(8, type);
        e.put((byte) kind).putShort((short) flags).put((byte) bus).put((byte) busIrq).put((byte) destination).put((byte) pin);
        return e.array();
    }

    /** The byte that makes {@code length} bytes from {@code offset} sum to 0 mod 256 (its own slot holding 0). */
    static byte checksum(byte[] bytes, int offset, int length) {
        int sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += bytes[i];
        }
        return (byte) -sum;
    }
}
