package org.xenj.hypervisor.internal.builder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.function.IntBinaryOperator;

import org.xenj.hypervisor.internal.platform.AcpiPm;
import org.xenj.hypervisor.internal.platform.apic.IoApic;
import org.xenj.hypervisor.internal.platform.apic.LocalApic;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * The ACPI tables a directly booted kernel finds as if firmware had left them (xl.cfg {@code acpi=1}),
 * in the reserved BIOS area from {@link #BASE}, below the MP table at 0xF5000. ACPI 1.0-style
 * pointers (the 32-bit RSDT, RSDP revision 0), which every ACPI OS reads:
 * <ul>
 * <li>RSDP at {@link #BASE} (16-byte aligned, inside 0xE0000-0xFFFFF where Linux scans for "RSD PTR ");
 * <li>FACS (64-byte aligned; no global lock, no waking vector);
 * <li>RSDT listing FADT and MADT;
 * <li>FADT revision 1 (116 bytes): SCI on IRQ {@link AcpiPm#SCI_IRQ}, SMI_CMD 0 (ACPI is always enabled),
 * the PM1a event/control blocks, the 24-bit PM timer and the GPE0 block of {@link AcpiPm} (no GPE1), C2/C3
 * latencies that say "not supported", flags WBINVD, PROC_C1, no fixed power or sleep button;
 * <li>MADT: the local APIC address, PCAT_COMPAT (8259s present), one enabled local APIC per vCPU
 * (processor ID = APIC ID = vCPU number), the IOAPIC at GSI base 0, interrupt source overrides as a
 * PC has them — IRQ 0 on GSI 2, the SCI level/active-high, the PCI links' IRQs level/active-low —
 * and LINT1 as NMI on every processor;
 * <li>DSDT (revision 2): the PCI host bridge {@code \_SB.PCI0} with its resource windows and a
 * {@code _PRT} of GSIs (see {@link #dsdtAml}), the VM Generation ID device {@code \_SB.VGEN} with
 * {@code \_GPE._E01} to notify it, and {@code Name (_S5, Package () {5, 5, 0, 0})}, the sleep type
 * that {@link AcpiPm} turns into a poweroff.
 * </ul>
 * The 16-byte generation ID itself sits at {@link #GENERATION_ID_ADDRESS}, the last 16 bytes below
 * the MP table: inside the BIOS area the e820 map reserves (type 2), so the guest never takes it for
 * RAM, as SeaBIOS reserves the blob QEMU's vmgenid lives in. (ACPI NVS would do as well;
 * ACPI-reclaimable memory would not: the OS may reuse it once it has read the tables.)
 * Every table's checksum (and the RSDP's) makes its bytes sum to 0 mod 256.
 */
public final class AcpiTables {

    public static final long BASE = 0xf0000;
    /** Where the tables must end: the MP table's floating pointer. */
    static final long LIMIT = MpTable.FLOATING_POINTER_ADDRESS;
    static final int HEADER = 36;
    static final int RSDP_SIZE = 20, FACS_SIZE = 64, FADT_SIZE = 116;
    static final String OEM_ID = "XENJ  ", OEM_TABLE = "XENJ HVM";
    /** Where the VM generation ID lives (16-byte aligned; Hyper-V asks for 8), just below the MP table. */
    public static final long GENERATION_ID_ADDRESS = MpTable.FLOATING_POINTER_ADDRESS - AcpiPm.GENERATION_ID_SIZE;
    /** The VM Generation ID device's IDs: the _HID Linux's vmgenid.c matches, and Hyper-V's _CID, which Linux matches too. */
    static final String VMGENID_HID = "VMGENCTR", VMGENID_CID = "VM_Gen_Counter";
    /** FADT flags: WBINVD (0), PROC_C1 (2), PWR_BUTTON (4) and SLP_BUTTON (5) — no fixed buttons. */
    static final int FADT_FLAGS = 1 | 1 << 2 | 1 << 4 | 1 << 5;
    /** MADT interrupt flags: polarity bits 1:0 (1 high, 3 low), trigger bits 3:2 (3 level). */
    static final int LEVEL_HIGH = 0x0d, LEVEL_LOW = 0x0f;
    /** The AML: NameOp "_S5_" PackageOp PkgLength(8) NumElements(4) BytePrefix 5, BytePrefix 5, Zero, Zero. */
    static final byte[] S5_AML = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, AcpiPm.SLP_TYP_S5, 0x0a,
            AcpiPm.SLP_TYP_S5, 0x00, 0x00 };

    private AcpiTables() {
    }

    /**
     * The tables as the bytes from {@link #BASE}.
     *
     * @param cpus     vCPUs (local APIC IDs 0..cpus-1)
     * @param ioApicId the IOAPIC's ID
     * @param pciIrq   (device, pin 1..4) to the ISA IRQ its PIRQ link is routed to, or -1: the {@code _PRT}
     *                 and the level/active-low overrides of those IRQs
     * @param pciMemStart where the PCI memory window starts (the firmware set-up's first BAR address)
     * @throws IllegalArgumentException for a CPU count the tables (or their room under the MP table) cannot hold
     */
    public static byte[] build(int cpus, int ioApicId, IntBinaryOperator pciIrq, long pciMemStart) {
        if (cpus < 1 || cpus > MpTable.MAX_CPUS) {
            throw new IllegalArgumentException("ACPI tables: " + cpus + " CPUs (1.." + MpTable.MAX_CPUS + ")");
        }
        if (pciMemStart < 0x100000 || pciMemStart >= PCI_MEM_END) {
            throw new IllegalArgumentException(String.format("ACPI tables: PCI memory window from 0x%x", pciMemStart));
        }
        int[] pciIrqs = java.util.stream.IntStream.range(0, 32 * 4).map(i -> pciIrq.applyAsInt(i >> 2, (i & 3) + 1))
                .filter(irq -> irq > 0 && irq < 16).distinct().toArray();
        byte[] aml = dsdtAml(pciIrq, pciMemStart);
        int facs = 64; // after the RSDP, 64-byte aligned
        int rsdt = facs + FACS_SIZE;
        int rsdtSize = HEADER + 2 * 4;
        int fadt = align16(rsdt + rsdtSize);
        int madt = align16(fadt + FADT_SIZE);
        byte[] madtBytes = madt(cpus, ioApicId, pciIrqs);
        int dsdt = align16(madt + madtBytes.length);
        int end = dsdt + HEADER + aml.length;
        if (BASE + end > GENERATION_ID_ADDRESS) {
            throw new IllegalArgumentException("ACPI tables for " + cpus + " CPUs need " + end + " bytes; "
                    + (GENERATION_ID_ADDRESS - BASE) + " are free below the generation ID and the MP table");
        }
        ByteBuffer b = ByteBuffer.allocate(end).order(ByteOrder.LITTLE_ENDIAN);

        b.put("RSD PTR ".getBytes(StandardCharsets.US_ASCII)).put((byte) 0).put(ascii(OEM_ID)).put((byte) 0); // revision 0: ACPI 1.0
        b.putInt((int) (BASE + rsdt));
        b.put(8, MpTable.checksum(b.array(), 0, RSDP_SIZE));

        b.position(facs);
        b.put("FACS".getBytes(StandardCharsets.US_ASCII)).putInt(FACS_SIZE).putInt(0); // hardware signature 0
        // waking vector, global lock, flags: all 0; the rest reserved

        b.position(rsdt);
        header(b, "RSDT", rsdtSize, 1);
        b.putInt((int) (BASE + fadt)).putInt((int) (BASE + madt));
        seal(b, rsdt, rsdtSize);

        b.position(fadt);
        header(b, "FACP", FADT_SIZE, 1);
        b.putInt((int) (BASE + facs)).putInt((int) (BASE + dsdt));
        b.put((byte) 1); // INT_MODEL (ACPI 1.0): multiple APIC
        b.put((byte) 0); // reserved (preferred PM profile in 2.0: unspecified)
        b.putShort((short) AcpiPm.SCI_IRQ);
        b.putInt(0); // SMI_CMD: none, so the OS finds ACPI mode on
        b.put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0); // ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT
        b.putInt(AcpiPm.BASE + AcpiPm.PM1_EVT_OFFSET).putInt(0); // PM1a, PM1b event blocks
        b.putInt(AcpiPm.BASE + AcpiPm.PM1_CNT_OFFSET).putInt(0); // PM1a, PM1b control blocks
        b.putInt(0); // PM2 control block
        b.putInt(AcpiPm.BASE + AcpiPm.PM_TMR_OFFSET);
        b.putInt(AcpiPm.BASE + AcpiPm.GPE0_OFFSET).putInt(0); // GPE0 block, no GPE1
        b.put((byte) AcpiPm.PM1_EVT_LEN).put((byte) AcpiPm.PM1_CNT_LEN).put((byte) 0).put((byte) AcpiPm.PM_TMR_LEN);
        b.put((byte) AcpiPm.GPE0_LEN).put((byte) 0).put((byte) 0).put((byte) 0); // GPE0/GPE1 lengths, GPE1 base, CST_CNT
        b.putShort((short) 101).putShort((short) 1001); // P_LVL2_LAT > 100, P_LVL3_LAT > 1000: no C2, no C3
        b.putShort((short) 0).putShort((short) 0); // FLUSH_SIZE, FLUSH_STRIDE
        b.put((byte) 0).put((byte) 0); // DUTY_OFFSET, DUTY_WIDTH
        b.put((byte) 0).put((byte) 0).put((byte) 0x32); // DAY_ALRM, MON_ALRM none; CENTURY in CMOS 0x32
        b.put(new byte[3]); // reserved in ACPI 1.0 (IAPC_BOOT_ARCH in 2.0)
        b.putInt(FADT_FLAGS);
        seal(b, fadt, FADT_SIZE);

        b.position(madt);
        b.put(madtBytes);

        b.position(dsdt);
        header(b, "DSDT", HEADER + aml.length, 2); // revision 2: 64-bit AML integers (iasl flags 1 as "no 64-bit math")
        b.put(aml);
        seal(b, dsdt, HEADER + aml.length);
        return b.array();
    }

    /** Where the PCI memory window ends: below the IOAPIC (the firmware set-up's limit too). */
    static final long PCI_MEM_END = IoApic.DEFAULT_BASE;

    /**
     * The DSDT's definition block: {@code \_SB.PCI0}, the host bridge (PNP0A03) with its windows
     * in {@code _CRS} and a {@code _PRT} naming each slot's INTA#-INTD# GSI, {@code \_SB.VGEN} and
     * {@code \_GPE._E01} (see {@link #vmGenerationId}), then {@code _S5}.
     * Without a PNP0A03 device, Linux with ACPI scans no PCI bus at all (its legacy scan runs only
     * without ACPI IRQ routing).
     */
    static byte[] dsdtAml(IntBinaryOperator pciIrq, long pciMemStart) {
        java.util.List<byte[]> routes = new java.util.ArrayList<>();
        for (int device = 0; device < 32; device++) {
            for (int pin = 1; pin <= 4; pin++) {
                int irq = pciIrq.applyAsInt(device, pin);
                if (irq > 0 && irq < 16) {
                    // {address 0xDDDDFFFF (any function), pin 0-3, source 0 (a GSI, no link device), GSI}; ISA IRQ n is GSI n
                    routes.add(Aml.pkg(Aml.integer((long) device << 16 | 0xffff), Aml.integer(pin - 1), Aml.integer(0),
                            Aml.integer(irq)));
                }
            }
        }
        byte[] pci0 = Aml.device("PCI0", Aml.name("_HID", Aml.eisaId("PNP0A03")), Aml.name("_ADR", Aml.integer(0)),
                Aml.name("_UID", Aml.integer(0)), Aml.name("_CRS", Aml.buffer(hostBridgeResources(pciMemStart))),
                Aml.name("_PRT", Aml.pkg(routes.toArray(byte[][]::new))));
        return Aml.cat(Aml.scope("\\_SB_", pci0, vmGenerationId()), gpeMethods(), S5_AML);
    }

    /**
     * The VM Generation ID device as Linux's drivers/virt/vmgenid.c finds it: matched by _HID
     * {@value #VMGENID_HID} (or Hyper-V's _CID), it evaluates {@code ADDR} for a package of two
     * integers, the low and high 32 bits of the ID's guest-physical address, maps the 16 bytes
     * there, and on a device notification (0x80) reads them again; a changed ID goes to the RNG
     * ({@code add_vmfork_randomness}). No _CRS: the ID's page is reserved in the e820 map already.
     */
    static byte[] vmGenerationId() {
        return Aml.device("VGEN", Aml.name("_HID", Aml.string(VMGENID_HID)), Aml.name("_CID", Aml.string(VMGENID_CID)),
                Aml.name("_DDN", Aml.string(VMGENID_CID)),
                Aml.name("ADDR", Aml.pkg(Aml.dword(GENERATION_ID_ADDRESS & 0xffffffffL), Aml.dword(GENERATION_ID_ADDRESS >>> 32))));
    }

    /** {@code Scope (\_GPE) { Method (_E01) { Notify (\_SB.VGEN, 0x80) } }}: GPE 1, edge (ACPICA clears its status, then runs it). */
    static byte[] gpeMethods() {
        String e = String.format("_E%02X", AcpiPm.GPE_VMGENID);
        return Aml.scope("\\_GPE", Aml.method(e, 0, Aml.notify(Aml.rootPath("_SB_", "VGEN"), 0x80)));
    }

    /**
     * The host bridge's resource template (ACPI 6.4 §6.4): bus numbers 0-255, the configuration
     * ports 0xCF8-0xCFF it consumes, I/O 0-0xCF7 and 0xD00-0xFFFF, the VGA window 0xA0000-0xBFFFF
     * and {@code memStart} up to the IOAPIC — where the firmware set-up places the BARs.
     */
    static byte[] hostBridgeResources(long memStart) {
        ByteBuffer b = ByteBuffer.allocate(128).order(ByteOrder.LITTLE_ENDIAN);
        wordAddress(b, 2, 0, 0, 0xff); // WordBusNumber
        b.put((byte) 0x47).put((byte) 1).putShort((short) 0xcf8).putShort((short) 0xcf8).put((byte) 1).put((byte) 8); // IO (Decode16)
        wordAddress(b, 1, 3, 0, 0xcf7); // WordIO, EntireRange
        wordAddress(b, 1, 3, 0xd00, 0xffff);
        dwordMemory(b, 0xa0000, 0xbffff);
        dwordMemory(b, memStart, PCI_MEM_END - 1);
        b.put((byte) 0x79).put((byte) 0); // end tag, checksum 0 ("treat as correct")
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    /** A Word Address Space Descriptor: producer, fixed minimum and maximum, positive decode. */
    private static void wordAddress(ByteBuffer b, int type, int typeFlags, int min, int max) {
        b.put((byte) 0x88).putShort((short) 13).put((byte) type).put((byte) 0x0c).put((byte) typeFlags);
        b.putShort((short) 0).putShort((short) min).putShort((short) max).putShort((short) 0).putShort((short) (max - min + 1));
    }

    /** A DWord memory descriptor: producer, fixed range, cacheable, read/write. */
    private static void dwordMemory(ByteBuffer b, long min, long max) {
        b.put((byte) 0x87).putShort((short) 23).put((byte) 0).put((byte) 0x0c).put((byte) 0x03);
        b.putInt(0).putInt((int) min).putInt((int) max).putInt(0).putInt((int) (max - min + 1));
    }

    private static byte[] madt(int cpus, int ioApicId, int[] pciIrqs) {
        java.util.BitSet level = new java.util.BitSet(16);
        for (int irq : pciIrqs) {
            if (irq > 0 && irq < 16 && irq != 2 && irq != AcpiPm.SCI_IRQ) {
                level.set(irq);
            }
        }
        int size = HEADER + 8 + cpus * 8 + 12 + 10 * (2 + level.cardinality()) + 6;
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        header(b, "APIC", size, 1);
        b.putInt((int) LocalApic.DEFAULT_BASE).putInt(1); // PCAT_COMPAT
        for (int cpu = 0; cpu < cpus; cpu++) {
            b.put((byte) 0).put((byte) 8).put((byte) cpu).put((byte) cpu).putInt(1); // processor local APIC, enabled
        }
        b.put((byte) 1).put((byte) 12).put((byte) ioApicId).put((byte) 0).putInt((int) IoApic.DEFAULT_BASE).putInt(0);
        override(b, 0, 2, 0); // the PIT's IRQ 0 on pin 2, bus-conforming
        override(b, AcpiPm.SCI_IRQ, AcpiPm.SCI_IRQ, LEVEL_HIGH);
        for (int irq = level.nextSetBit(0); irq >= 0; irq = level.nextSetBit(irq + 1)) {
            override(b, irq, irq, LEVEL_LOW);
        }
        b.put((byte) 4).put((byte) 6).put((byte) 0xff).putShort((short) 0).put((byte) 1); // LINT1 = NMI on all
        seal(b, 0, size);
        return b.array();
    }

    private static void override(ByteBuffer b, int irq, int gsi, int flags) {
        b.put((byte) 2).put((byte) 10).put((byte) 0).put((byte) irq).putInt(gsi).putShort((short) flags);
    }

    /** Writes {@link #build} at {@link #BASE}; returns the bytes written. */
    public static int write(GuestMemory memory, int cpus, int ioApicId, IntBinaryOperator pciIrq, long pciMemStart) {
        byte[] bytes = build(cpus, ioApicId, pciIrq, pciMemStart);
        memory.write(BASE, bytes, 0, bytes.length);
        return bytes.length;
    }

    private static void header(ByteBuffer b, String signature, int length, int revision) {
        b.put(ascii(signature)).putInt(length).put((byte) revision).put((byte) 0); // checksum below
        b.put(ascii(OEM_ID)).put(ascii(OEM_TABLE)).putInt(1); // OEM revision
        b.put(ascii("XENJ")).putInt(1); // creator ID, revision
    }

    /** Sets the checksum byte (offset 9) of the table at {@code start}. */
    private static void seal(ByteBuffer b, int start, int length) {
        b.put(start + 9, MpTable.checksum(b.array(), start, length));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static int align16(int offset) {
        return (offset + 15) & ~15;
    }
}
