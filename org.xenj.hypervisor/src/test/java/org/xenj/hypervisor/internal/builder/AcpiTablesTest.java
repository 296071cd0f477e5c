package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.internal.platform.AcpiPm;

/**
 * The ACPI tables {@link AcpiTables} writes: found from the RSDP as an OS finds them, every
 * checksum right, the fields Linux reads where the ACPI spec puts them — and, as the oracle, Debian's
 * ACPICA disassembler ({@code iasl -d}, package acpica-tools) reads every table without an error or
 * warning and shows the same values. Skipped (with the reason) where iasl is not installed.
 */
class AcpiTablesTest {

    static final int IOAPIC_ID = 2;
    /** As the firmware set-up routes them: PIRQA#-D# to IRQs 10, 10, 11, 11, device d's pin p on link (d + p - 1) mod 4. */
    static final java.util.function.IntBinaryOperator PCI_IRQS = (d, p) -> new int[] { 10, 10, 11, 11 }[(d + p - 1) & 3];
    static final long MEM = 0xf000_0000L;

    /** The tables by signature, followed from the RSDP's RSDT address and the FADT's pointers. */
    static Map<String, byte[]> tables(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("RSD PTR ", new String(image, 0, 8, StandardCharsets.US_ASCII));
        assertEquals(0, sum(image, 0, 20), "RSDP checksum");
        Map<String, byte[]> t = new LinkedHashMap<>();
        t.put("RSDP", java.util.Arrays.copyOfRange(image, 0, 20));
        int rsdt = (int) (b.getInt(16) - AcpiTables.BASE);
        t.put("RSDT", table(image, rsdt));
        int entries = (b.getInt(rsdt + 4) - 36) / 4;
        for (int i = 0; i < entries; i++) {
            int at = (int) (b.getInt(rsdt + 36 + 4 * i) - AcpiTables.BASE);
            byte[] table = table(image, at);
            t.put(new String(table, 0, 4, StandardCharsets.US_ASCII), table);
            if (t.containsKey("FACP") && !t.containsKey("DSDT")) {
                ByteBuffer f = ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN);
                int facs = (int) (f.getInt(36) - AcpiTables.BASE);
                assertEquals(0, (AcpiTables.BASE + facs) % 64, "FACS alignment");
                assertEquals("FACS", new String(image, facs, 4, StandardCharsets.US_ASCII));
                t.put("FACS", java.util.Arrays.copyOfRange(image, facs, facs + 64));
                t.put("DSDT", table(image, (int) (f.getInt(40) - AcpiTables.BASE)));
            }
        }
        return t;
    }

    static byte[] table(byte[] image, int at) {
        int length = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt(at + 4);
        assertTrue(at >= 0 && length >= 36 && at + length <= image.length, "table at " + at + " length " + length);
        assertEquals(0, sum(image, at, length), new String(image, at, 4, StandardCharsets.US_ASCII) + " checksum");
        return java.util.Arrays.copyOfRange(image, at, at + length);
    }

    static int sum(byte[] b, int from, int length) {
        int s = 0;
        for (int i = from; i < from + length; i++) {
            s += b[i];
        }
        return s & 0xff;
    }

    @Test
    void tablesChainFromTheRsdpWithRightChecksums() {
        Map<String, byte[]> t = tables(AcpiTables.build(2, IOAPIC_ID, PCI_IRQS, MEM));
        assertEquals(List.of("RSDP", "RSDT", "FACP", "FACS", "DSDT", "APIC"), new ArrayList<>(t.keySet()));
        assertEquals(0, AcpiTables.BASE % 16, "Linux scans 16-byte boundaries");
        assertTrue(AcpiTables.BASE >= 0xe0000 && AcpiTables.BASE + AcpiTables.build(2, IOAPIC_ID, PCI_IRQS, MEM).length
                <= AcpiTables.GENERATION_ID_ADDRESS, "inside the scanned BIOS area, below the generation ID");
        // the ID's 16 bytes: between the tables and the MP table, in the BIOS area the e820 map reserves (0xF0000-0xFFFFF)
        assertEquals(MpTable.FLOATING_POINTER_ADDRESS, AcpiTables.GENERATION_ID_ADDRESS + 16);
        assertTrue(AcpiTables.GENERATION_ID_ADDRESS >= 0xf0000 && AcpiTables.GENERATION_ID_ADDRESS % 8 == 0);
    }

    @Test
    void fadtNamesThePmBlockAndSci() {
        ByteBuffer f = ByteBuffer.wrap(tables(AcpiTables.build(1, IOAPIC_ID, PCI_IRQS, MEM)).get("FACP")).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(116, f.getInt(4));
        assertEquals(AcpiPm.SCI_IRQ, f.getShort(46));
        assertEquals(0, f.getInt(48), "SMI_CMD 0: ACPI already enabled");
        assertEquals(AcpiPm.BASE, f.getInt(56), "PM1a_EVT_BLK");
        assertEquals(AcpiPm.BASE + 4, f.getInt(64), "PM1a_CNT_BLK");
        assertEquals(AcpiPm.BASE + 8, f.getInt(76), "PM_TMR_BLK");
        assertEquals(4, f.get(88));
        assertEquals(2, f.get(89));
        assertEquals(4, f.get(91));
        assertEquals(AcpiPm.BASE + 12, f.getInt(80), "GPE0_BLK");
        assertEquals(0, f.getInt(84), "no GPE1_BLK");
        assertEquals(4, f.get(92), "GPE0_BLK_LEN: 2 status bytes, 2 enable bytes");
        assertEquals(0, f.getInt(112) & 1 << 8, "TMR_VAL_EXT clear: a 24-bit timer");
    }

    @Test
    void madtHasEveryCpuTheIoApicAndThePcOverrides() {
        ByteBuffer m = ByteBuffer.wrap(tables(AcpiTables.build(4, 5, PCI_IRQS, MEM)).get("APIC")).order(ByteOrder.LITTLE_ENDIAN);
        List<String> entries = new ArrayList<>();
        for (int at = 44; at < m.limit(); at += m.get(at + 1)) {
            int type = m.get(at);
            switch (type) {
                case 0 -> entries.add("lapic " + m.get(at + 2) + "/" + m.get(at + 3) + " flags " + m.getInt(at + 4));
                case 1 -> entries.add("ioapic " + m.get(at + 2) + " at " + Integer.toHexString(m.getInt(at + 4)) + " gsi " + m.getInt(at + 8));
                case 2 -> entries.add("iso " + m.get(at + 3) + "->" + m.getInt(at + 4) + " flags " + m.getShort(at + 8));
                case 4 -> entries.add("nmi " + (m.get(at + 2) & 0xff) + " lint" + m.get(at + 5));
                default -> entries.add("type " + type);
            }
        }
        assertEquals(List.of("lapic 0/0 flags 1", "lapic 1/1 flags 1", "lapic 2/2 flags 1", "lapic 3/3 flags 1",
                "ioapic 5 at fec00000 gsi 0", "iso 0->2 flags 0", "iso 9->9 flags 13", "iso 10->10 flags 15",
                "iso 11->11 flags 15", "nmi 255 lint1"), entries);
    }

    @Test
    void tooManyCpusForTheRoomIsABuildError() {
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build(0, IOAPIC_ID, PCI_IRQS, MEM));
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build(256, IOAPIC_ID, PCI_IRQS, MEM));
        // the most an MP table allows still fits
        assertTrue(AcpiTables.build(MpTable.MAX_CPUS, 0xfe, PCI_IRQS, MEM).length < MpTable.FLOATING_POINTER_ADDRESS - AcpiTables.BASE);
    }

    /** Debian's ACPICA disassembler as the oracle: every table disassembles cleanly with our values. */
    @Test
    void iaslDisassemblesEveryTable(@TempDir Path dir) throws Exception {
        Path iasl = findIasl();
        assumeTrue(iasl != null, "iasl not installed (Debian: apt-get install acpica-tools)");
        Map<String, byte[]> t = tables(AcpiTables.build(2, IOAPIC_ID, PCI_IRQS, MEM));
        Map<String, String> dsl = new LinkedHashMap<>();
        for (var e : t.entrySet()) {
            if (e.getKey().equals("RSDP")) {
                continue; // iasl 20200925 takes no bare RSDP file ("not a valid ACPI table"); its checksum is checked above
            }
            Path bin = dir.resolve(e.getKey().toLowerCase() + ".dat");
            Files.write(bin, e.getValue());
            Process p = new ProcessBuilder(iasl.toString(), "-d", bin.toString()).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "iasl hung");
            assertEquals(0, p.exitValue(), e.getKey() + ": iasl -d failed:\n" + out);
            String text = Files.readString(dir.resolve(e.getKey().toLowerCase() + ".dsl"));
            assertTrue(!text.matches("(?s).*(\\*\\*\\*\\*|Invalid|Error|Warning|Unknown).*"), e.getKey() + " disassembly:\n" + text);
            dsl.put(e.getKey(), text);
        }
        String fadt = dsl.get("FACP");
        assertField(fadt, "SCI Interrupt", "0009");
        assertField(fadt, "SMI Command Port", "00000000");
        assertField(fadt, "PM1A Event Block Address", "0000B000");
        assertField(fadt, "PM1A Control Block Address", "0000B004");
        assertField(fadt, "PM Timer Block Address", "0000B008");
        assertField(fadt, "PM Timer Block Length", "04");
        assertField(fadt, "0112   4]        Flags (decoded below)", "00000035");
        assertField(fadt, "32-bit PM Timer (V1)", "0");
        assertField(fadt, "GPE0 Block Address", "0000B00C");
        assertField(fadt, "GPE0 Block Length", "04");
        assertField(fadt, "GPE1 Block Length", "00");
        String madt = dsl.get("APIC");
        assertEquals(2, madt.split("Processor Local APIC", -1).length - 1, madt);
        assertTrue(madt.contains("Interrupt Source Override"), madt);
        String dsdt = dsl.get("DSDT");
        assertTrue(dsdt.contains("Name (_S5, Package"), dsdt);
        assertTrue(dsdt.contains("Scope (\\_SB)") && dsdt.contains("Device (PCI0)") && dsdt.contains("EisaId (\"PNP0A03\")"), dsdt);
        // 32 slots x 4 pins, slot 3 pin INTB# on link (3+2-1) mod 4 = 0: IRQ 10
        assertEquals(128, dsdt.split("\\n\\s*Package \\(0x04\\)", -1).length - 1, dsdt); // _S5 starts on its Name line
        assertTrue(dsdt.matches("(?s).*0x0003FFFF,\\s*One,\\s*Zero,\\s*0x0A\\s*\\}.*"), dsdt);
        for (String r : new String[] { "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode",
                "IO (Decode16,\n                    0x0CF8,", "0x0D00,             // Range Minimum", "0xF0000000,         // Range Minimum",
                "0xFEBFFFFF,         // Range Maximum", "0x000A0000,         // Range Minimum" }) {
            assertTrue(dsdt.contains(r), "no '" + r + "' in\n" + dsdt);
        }
        assertTrue(dsl.get("DSDT").matches("(?s).*_S5, Package \\(0x04\\)[^{]*\\{\\s*0x05,\\s*0x05,\\s*Zero,\\s*Zero\\s*\\}.*"),
                dsl.get("DSDT"));
        // the VM Generation ID device as Linux's vmgenid.c looks for it, and the GPE method that notifies it
        for (String v : new String[] { "Device (VGEN)", "Name (_HID, \"VMGENCTR\")", "Name (_CID, \"VM_Gen_Counter\")",
                "Scope (\\_GPE)", "Method (_E01, 0, NotSerialized)", "Notify (\\_SB.VGEN, 0x80)" }) {
            assertTrue(dsdt.contains(v), "no '" + v + "' in\n" + dsdt);
        }
        assertTrue(dsdt.matches("(?s).*Name \\(ADDR, Package \\(0x02\\)\\s*\\{\\s*0x000F4FF0,\\s*0x00000000\\s*\\}.*"), dsdt);
        // ACPICA's interpreter (the code Linux runs) loads the DSDT and evaluates \\_S5 as the kernel's poweroff does
        Path acpiexec = iasl.resolveSibling("acpiexec");
        if (Files.isExecutable(acpiexec)) {
            Process p = new ProcessBuilder(acpiexec.toString(), "-b", "evaluate \\_S5", "dsdt.dat", "apic.dat").directory(dir.toFile())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "acpiexec hung");
            assertTrue(out.matches("(?s).*Evaluation of \\\\_S5 returned.*Contains 4 Elements:\\s*\\[Integer\\] = 0+5\\s*\\[Integer\\] = 0+5.*"),
                    "acpiexec:\n" + out);
            assertTrue(!out.contains("Error") && !out.contains("Exception"), "acpiexec:\n" + out);

            // what Linux's vmgenid driver evaluates (ADDR: low, high), the IDs it matches, and the GPE method's Notify
            p = new ProcessBuilder(acpiexec.toString(), "-b",
                    "evaluate \\_SB.VGEN.ADDR; evaluate \\_SB.VGEN._HID; evaluate \\_SB.VGEN._CID; evaluate \\_GPE._E01", "dsdt.dat")
                    .directory(dir.toFile()).redirectErrorStream(true).start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "acpiexec hung");
            assertTrue(out.matches("(?s).*Evaluation of \\\\_SB.VGEN.ADDR returned.*Contains 2 Elements:\\s*\\[Integer\\] = 0+F4FF0\\s*"
                    + "\\[Integer\\] = 0+\\s.*"), "acpiexec ADDR:\n" + out);
            assertTrue(out.contains("[String] Length 08 = \"VMGENCTR\""), "acpiexec _HID:\n" + out);
            // ACPICA upper-cases a _CID string: what Linux compares with its "VM_GEN_COUNTER"
            assertTrue(out.contains("[String] Length 0E = \"VM_GEN_COUNTER\""), "acpiexec _CID:\n" + out);
            assertTrue(out.matches("(?s).*Evaluating \\\\_GPE._E01\\s+ACPI Exec: \\w+:\\s+Received a Device Notify on \\[VGEN\\][^\\n]*"
                    + "Value 0x80.*"), "acpiexec _E01:\n" + out);
            assertTrue(!out.contains("Error") && !out.contains("Exception") && !out.contains("Warning"), "acpiexec:\n" + out);
        }
        System.out.println("[acpi] iasl -d: " + String.join(", ", dsl.keySet()) + " disassembled cleanly\n" + dsl.get("DSDT"));
    }

    static void assertField(String dsl, String label, String value) {
        var m = java.util.regex.Pattern.compile("\\Q" + label + "\\E\\s*:\\s*(\\S+)").matcher(dsl);
        assertTrue(m.find(), label + " missing in\n" + dsl);
        assertEquals(value, m.group(1), label);
    }

    static Path findIasl() throws IOException {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(d, "iasl");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
