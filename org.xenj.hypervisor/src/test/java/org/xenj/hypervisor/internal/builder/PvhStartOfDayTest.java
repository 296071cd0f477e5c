package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.builder.PvhImages.Seg;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.pv.ElfKernel;
import org.xenj.hypervisor.internal.pv.TestElf;

/**
 * The PVH start of day: what the loader writes (segments at their physical addresses, the
 * hvm_start_info in EBX with command line, module and memory map, the flat GDT) and what it
 * refuses before writing anything, each with its reason.
 */
class PvhStartOfDayTest {

    private static final long MIB = 1 << 20;

    private static DomainMemory memory(int mib) {
        DomainMemory m = new DomainMemory(new MachineMemory((mib + 4) * MIB), 1);
        m.populate(0, mib << 8);
        return m;
    }

    private static PvhBoot.Loaded load(DomainMemory m, byte[] image, byte[] module, String cmdline) {
        return PvhBoot.load(m, PvhBoot.memoryMap(m.size()), PvhBoot.parse(image, "k"), module, cmdline, "k");
    }

    private static long read64(DomainMemory m, long a) {
        return (m.read32(a) & 0xffffffffL) | (long) m.read32(a + 4) << 32;
    }

    @Test
    void startInfoNamesTheCommandLineTheModuleAndTheMemoryMap() {
        DomainMemory m = memory(16);
        byte[] module = "a ramdisk".getBytes(StandardCharsets.US_ASCII);
        PvhBoot.Loaded l = load(m, PvhImages.good(), module, "console=hvc0 root=/dev/ram0");

        assertEquals(0x100000, l.entry().eip());
        assertEquals(PvhBoot.START_INFO, l.entry().ebx() & 0xffffffffL, "EBX = hvm_start_info");
        assertEquals(LinuxDirectBoot.BOOT_CS, l.entry().codeSelector());
        assertEquals(LinuxDirectBoot.BOOT_DS, l.entry().dataSelector());
        assertEquals(0x336ec578, m.read32(PvhBoot.START_INFO));
        assertEquals(1, m.read32(PvhBoot.START_INFO + 4), "version 1: memmap fields present");
        assertEquals(1, m.read32(PvhBoot.START_INFO + 12), "nr_modules");
        long modlist = read64(m, PvhBoot.START_INFO + 16);
        long cmdline = read64(m, PvhBoot.START_INFO + 24);
        assertEquals(0, read64(m, PvhBoot.START_INFO + 32), "no RSDP");
        long memmap = read64(m, PvhBoot.START_INFO + 40);
        int entries = m.read32(PvhBoot.START_INFO + 48);

        byte[] cmd = new byte[28];
        m.read(cmdline, cmd, 0, cmd.length);
        assertEquals("console=hvc0 root=/dev/ram0\0", new String(cmd, StandardCharsets.US_ASCII));
        long modAddr = read64(m, modlist);
        assertEquals(module.length, read64(m, modlist + 8));
        assertEquals(0, modAddr & 0xfff, "page aligned");
        assertTrue(modAddr + module.length <= 16 * MIB && modAddr >= 15 * MIB, "at the top of RAM: 0x" + Long.toHexString(modAddr));
        byte[] back = new byte[module.length];
        m.read(modAddr, back, 0, back.length);
        assertArrayEquals(module, back);

        assertEquals(3, entries);
        assertEquals(0, read64(m, memmap));
        assertEquals(16 * MIB, read64(m, memmap + 8));
        assertEquals(E820Map.RAM, m.read32(memmap + 16));
        assertEquals(0xfec00000L, read64(m, memmap + 24));
        assertEquals(E820Map.RESERVED, m.read32(memmap + 40));

        byte[] code = PvhImages.checkingCode();
        byte[] loaded = new byte[code.length];
        m.read(0x100000, loaded, 0, loaded.length);
        assertArrayEquals(code, loaded, "the segment at its physical address");
        assertEquals(0x00cf9b00, m.read32(LinuxDirectBoot.GDT_ADDRESS + 0x14), "flat code descriptor at selector 0x10");
    }

    @Test
    void withoutARamdiskThereIsNoModule() {
        DomainMemory m = memory(8);
        PvhBoot.Loaded l = load(m, PvhImages.good(), null, "");
        assertEquals(0, m.read32(PvhBoot.START_INFO + 12));
        assertEquals(0, read64(m, PvhBoot.START_INFO + 16));
        assertEquals(0, l.layout().moduleSize());
    }

    @Test
    void bssIsZeroedAndSegmentsGoToTheirPhysicalNotVirtualAddress() {
        DomainMemory m = memory(16);
        m.write32(0x200100, 0xdeadbeef);
        byte[] code = PvhImages.pad(PvhImages.checkingCode(), 256);
        byte[] image = PvhImages.elf(0xc0200000L, PvhImages.notes(PvhImages.phys32(0x200000),
                TestElf.note(ElfKernel.NOTE_VIRT_BASE, TestElf.u32(0xc0000000L)), TestElf.note(ElfKernel.NOTE_PADDR_OFFSET, TestElf.u32(0))),
                new Seg(0x200000, 0xc0200000L, code, 0x2000));
        load(m, image, null, "");
        assertEquals(0, m.read32(0x200100), "memsz beyond filesz is zeroed");
        assertEquals(code[0] & 0xff, m.read32(0x200000) & 0xff);
    }

    @Test
    void refusalsNameTheReasonAndWriteNothing() {
        byte[] code = PvhImages.pad(PvhImages.checkingCode(), 4096);
        assertRefused(PvhImages.elf(0x100000, new byte[0], Seg.at(0x100000, code)), "no XEN_ELFNOTE_PHYS32_ENTRY note");
        assertRefused(PvhImages.elf(0x100000, PvhImages.phys32(0x300000), Seg.at(0x100000, code)),
                "PHYS32_ENTRY 0x300000 is outside the bytes its segments load");
        assertRefused(PvhImages.elf(0x100000, PvhImages.phys32(0x100000), Seg.at(0x100000, code), Seg.at(0x100800, code)),
                "segments 0 (0x100000-0x101000) and 1 (0x100800-0x101800) overlap");
        assertRefused(PvhImages.elf(0x100000, PvhImages.phys32(0x100000), new Seg(0x100000, 0x100000, code, 0x7000_0000L)),
                "needs 1793 MiB of RAM; the domain has 16 MiB");
        assertRefused(PvhImages.elf(0x100000, PvhImages.phys32(0x100000), new Seg(0xfff00000L, 0xfff00000L, code, 0x200000)),
                "runs past 4 GiB");
        assertRefused(PvhImages.elf(0x7000, PvhImages.phys32(0x7000), Seg.at(0x7000, code)), "overlaps the boot data pages");
        assertRefused(PvhImages.elf(0x100000, PvhImages.notes(PvhImages.phys32(0x100000), PvhImages.phys32(0x100010)),
                Seg.at(0x100000, code)), "contradictory Xen notes: note 18 is given twice with different values");
        assertRefused(PvhImages.elf(0x100000, PvhImages.notes(PvhImages.phys32(0x100000),
                TestElf.note(ElfKernel.NOTE_VIRT_BASE, TestElf.u32(0xc0000000L)), TestElf.note(ElfKernel.NOTE_PADDR_OFFSET, TestElf.u32(0))),
                new Seg(0x100000, 0xc0200000L, code, 4096)),
                "contradictory notes: VIRT_BASE 0xc0000000 and PADDR_OFFSET 0x0 put segment 0 (virtual 0xc0200000) at 0x200000");
        assertRefused(PvhImages.elf(0x100000, PvhImages.notes(PvhImages.phys32(0x100000),
                TestElf.note(ElfKernel.NOTE_VIRT_BASE, TestElf.u32(0x1000)), TestElf.note(ElfKernel.NOTE_PADDR_OFFSET, TestElf.u32(0x2000))),
                Seg.at(0x100000, code)), "contradictory notes: PADDR_OFFSET 0x2000 lies above VIRT_BASE 0x1000");
        assertRefused(PvhImages.elf(0x100000, TestElf.note(ElfKernel.NOTE_PHYS32_ENTRY, new byte[3]), Seg.at(0x100000, code)),
                "Xen note 18 has 3 bytes");
        byte[] wide = PvhImages.good();
        wide[4] = 2;
        assertRefused(wide, "not a 32-bit little-endian ELF");
        assertRefused("#!/bin/sh\necho not a kernel\n".getBytes(StandardCharsets.US_ASCII), "neither an ELF kernel nor a bzImage");
    }

    private static void assertRefused(byte[] image, String why) {
        DomainMemory m = memory(16);
        HypervisorException e = assertThrows(HypervisorException.class, () -> load(m, image, "rd".getBytes(), "x"));
        assertTrue(e.getMessage().startsWith("PVH kernel k: "), e.getMessage());
        assertTrue(e.getMessage().contains(why), e.getMessage());
        for (long a : List.of(PvhBoot.START_INFO, LinuxDirectBoot.GDT_ADDRESS + 0x10, 0x100000L, 16 * MIB - 4096)) {
            assertEquals(0, m.read32(a), "nothing written at 0x" + Long.toHexString(a) + " for: " + why);
        }
    }

    /** 20,000 mutated PVH ELFs (headers, program headers, notes) loaded into one 16 MiB domain: loaded or refused, 0 internal errors. */
    @Test
    void fuzzedElfsAreLoadedOrRefusedCleanly() {
        byte[] good = PvhImages.elf(0xc0100000L, PvhImages.notes(PvhImages.phys32(0x100000),
                TestElf.note(ElfKernel.NOTE_VIRT_BASE, TestElf.u32(0xc0000000L)), TestElf.note(ElfKernel.NOTE_PADDR_OFFSET, TestElf.u32(0))),
                new Seg(0x100000, 0xc0100000L, PvhImages.pad(PvhImages.checkingCode(), 256), 0x3000),
                new Seg(0x200000, 0xc0200000L, new byte[64], 0x1000));
        int noteStart = good.length - 3 * 20;
        DomainMemory m = memory(16);
        java.util.Random r = new java.util.Random(18);
        int inputs = 20_000, loaded = 0, refused = 0, internal = 0;
        for (int i = 0; i < inputs; i++) {
            byte[] x = good.clone();
            for (int k = 1 + r.nextInt(3); k > 0; k--) {
                int at = r.nextInt(3) == 0 ? noteStart + r.nextInt(good.length - noteStart) : r.nextInt(52 + 3 * 32);
                x[at] = (byte) (r.nextInt(4) == 0 ? x[at] ^ (1 << r.nextInt(8)) : r.nextInt());
            }
            try {
                load(m, x, new byte[100], "fuzz");
                loaded++;
            } catch (HypervisorException e) {
                refused++;
            } catch (RuntimeException | OutOfMemoryError e) {
                internal++;
                System.err.println("internal error on input " + i + ": " + e);
            }
        }
        System.out.printf("PvhBoot fuzz: %d inputs, %d loaded, %d refused, %d internal errors%n", inputs, loaded, refused, internal);
        assertEquals(0, internal, "internal errors");
        assertTrue(refused > 1000 && loaded > 100, "both outcomes reached: " + loaded + " loaded, " + refused + " refused");
    }

    @Test
    void aRamdiskThatDoesNotFitAboveTheKernelIsRefused() {
        DomainMemory m = memory(2);
        HypervisorException e = assertThrows(HypervisorException.class, () -> load(m, PvhImages.good(), new byte[(int) MIB], ""));
        assertTrue(e.getMessage().contains("does not fit above the kernel in 2 MiB"), e.getMessage());
    }

    @Test
    void anOverlongCommandLineIsRefused() {
        HypervisorException e = assertThrows(HypervisorException.class, () -> load(memory(8), PvhImages.good(), null, "x".repeat(2048)));
        assertTrue(e.getMessage().contains("2048 bytes; PVH boot takes at most 2047"), e.getMessage());
    }
}
