package org.xenj.hypervisor.internal.builder;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.pv.ElfKernel;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * PVH's start of day (Xen's docs/misc/pvh.pandoc, public/arch-x86/hvm/start_info.h): the kernel's
 * PT_LOAD segments at their physical addresses, the CPU to enter at the
 * {@code XEN_ELFNOTE_PHYS32_ENTRY} note in 32-bit flat protected mode with paging and interrupts
 * off, and EBX = the guest-physical address of an {@code hvm_start_info} (version 1) naming the
 * command line, the modules (the ramdisk) and the memory map. Boot data sits in three low pages,
 * as with the direct Linux boot: the flat GDT at 0x6000, start_info with its module list and
 * memory map at 0x7000, the command line at 0x8000; the ramdisk goes at the top of RAM.
 * <p>
 * Every check runs before a byte is written, so a refused image leaves memory as it was and the
 * reason names what is wrong: no PHYS32_ENTRY, notes that contradict the program headers, an
 * entry outside the loaded bytes, overlapping segments, or segments larger than the domain.
 */
public final class PvhBoot {

    public static final int START_INFO_MAGIC = 0x336ec578;
    static final long START_INFO = 0x7000, MODLIST = START_INFO + 0x40, MEMMAP = START_INFO + 0x80;
    static final long CMDLINE = LinuxDirectBoot.CMDLINE_ADDRESS;
    /** GDT, start_info and command line pages: no segment may land there. */
    static final long BOOT_AREA_START = LinuxDirectBoot.GDT_ADDRESS, BOOT_AREA_END = CMDLINE + 0x1000;
    static final int START_INFO_SIZE = 56, MODLIST_ENTRY_SIZE = 32, MEMMAP_ENTRY_SIZE = 24;
    /** Memory map entries that fit between MEMMAP and the end of the start_info page. */
    static final int MAX_MEMMAP_ENTRIES = (int) ((START_INFO + 0x1000 - MEMMAP) / MEMMAP_ENTRY_SIZE);
    /** Linux's COMMAND_LINE_SIZE on x86; the page at CMDLINE holds it with its NUL. */
    static final int MAX_CMDLINE = 2047;

    /** Where things went, for logs and tests. */
    public record Layout(long entry, long kernelStart, long kernelEnd, long moduleAddress, long moduleSize, int memmapEntries) {
    }

    /** Where the CPU starts and where things went. */
    public record Loaded(LinuxDirectBoot.EntryState entry, Layout layout) {
    }

    /** A loadable piece of the image at its physical address. */
    private record Piece(int index, long paddr, byte[] data, long memsz) {
        long end() {
            return paddr + memsz;
        }
    }

    private PvhBoot() {
    }

    /** Parses {@code image} (a vmlinux ELF or a bzImage) named {@code file} in messages. */
    public static ElfKernel parse(byte[] image, String file) {
        try {
            return new ElfKernel(KernelElf.of(image));
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("PVH kernel " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks {@code kernel} against a domain whose RAM ends at {@code ramTop} and returns the
     * segments to load, lowest first; throws {@link HypervisorException} with the reason otherwise.
     */
    private static List<Piece> check(ElfKernel kernel, long ramTop, String file) {
        if (!kernel.hasNote(ElfKernel.NOTE_PHYS32_ENTRY)) {
            throw bad(file, "no XEN_ELFNOTE_PHYS32_ENTRY note: the kernel has no PVH entry point"
                    + " (a PV-only kernel boots with type=\"pv\"; Linux needs CONFIG_PVH=y)");
        }
        long entry;
        try {
            entry = kernel.numericNote(ElfKernel.NOTE_PHYS32_ENTRY, -1);
        } catch (IllegalArgumentException e) {
            throw bad(file, e.getMessage());
        }
        if (entry < 0 || entry > 0xffffffffL) {
            throw bad(file, String.format("PHYS32_ENTRY 0x%x is not a 32-bit address", entry));
        }
        long virtBase = -1, paddrOffset = 0;
        try {
            if (kernel.hasNote(ElfKernel.NOTE_VIRT_BASE)) {
                virtBase = kernel.numericNote(ElfKernel.NOTE_VIRT_BASE, -1);
                paddrOffset = kernel.numericNote(ElfKernel.NOTE_PADDR_OFFSET, 0);
            }
        } catch (IllegalArgumentException e) {
            throw bad(file, e.getMessage());
        }
        if (virtBase >= 0 && paddrOffset > virtBase) {
            throw bad(file, String.format("contradictory notes: PADDR_OFFSET 0x%x lies above VIRT_BASE 0x%x", paddrOffset, virtBase));
        }
        List<Piece> pieces = new ArrayList<>();
        List<ElfKernel.Segment> segments = kernel.segments();
        for (int i = 0; i < segments.size(); i++) {
            ElfKernel.Segment s = segments.get(i);
            if (s.memsz() == 0) {
                continue;
            }
            if (s.paddr() + s.memsz() > 1L << 32) {
                throw bad(file, String.format("segment %d at 0x%x with memsz 0x%x runs past 4 GiB", i, s.paddr(), s.memsz()));
            }
            if (s.paddr() + s.memsz() > ramTop) {
                throw bad(file, String.format("segment %d at 0x%x-0x%x needs %d MiB of RAM; the domain has %d MiB", i, s.paddr(),
                        s.paddr() + s.memsz(), (s.paddr() + s.memsz() + (1 << 20) - 1) >> 20, ramTop >> 20));
            }
            if (virtBase >= 0 && s.vaddr() >= virtBase && s.vaddr() - virtBase + paddrOffset != s.paddr()) {
                throw bad(file, String.format("contradictory notes: VIRT_BASE 0x%x and PADDR_OFFSET 0x%x put segment %d (virtual 0x%x)"
                        + " at 0x%x, its program header at 0x%x", virtBase, paddrOffset, i, s.vaddr(),
                        s.vaddr() - virtBase + paddrOffset, s.paddr()));
            }
            if (s.paddr() < BOOT_AREA_END && s.paddr() + s.memsz() > BOOT_AREA_START) {
                throw bad(file, String.format("segment %d at 0x%x-0x%x overlaps the boot data pages 0x%x-0x%x", i, s.paddr(),
                        s.paddr() + s.memsz(), BOOT_AREA_START, BOOT_AREA_END));
            }
            pieces.add(new Piece(i, s.paddr(), s.data(), s.memsz()));
        }
        if (pieces.isEmpty()) {
            throw bad(file, "no loadable segment has any size");
        }
        pieces.sort(Comparator.comparingLong(Piece::paddr));
        for (int i = 1; i < pieces.size(); i++) {
            Piece a = pieces.get(i - 1), b = pieces.get(i);
            if (b.paddr < a.end()) {
                throw bad(file, String.format("segments %d (0x%x-0x%x) and %d (0x%x-0x%x) overlap", a.index, a.paddr, a.end(), b.index,
                        b.paddr, b.end()));
            }
        }
        boolean entryLoaded = pieces.stream().anyMatch(p -> entry >= p.paddr && entry < p.paddr + p.data.length);
        if (!entryLoaded) {
            throw bad(file, String.format("PHYS32_ENTRY 0x%x is outside the bytes its segments load", entry));
        }
        return pieces;
    }

    /**
     * Loads {@code kernel}, {@code module} (may be null) and the boot data into {@code memory},
     * whose RAM {@code map} describes, and returns where the CPU starts (EBX = start_info) and the layout.
     */
    public static Loaded load(GuestMemory memory, E820Map map, ElfKernel kernel, byte[] module, String cmdline, String file) {
        long ramTop = map.ramTop();
        List<Piece> pieces = check(kernel, ramTop, file);
        long kernelStart = pieces.get(0).paddr;
        long kernelEnd = pieces.stream().mapToLong(Piece::end).max().getAsLong();
        byte[] cmd = (cmdline == null ? "" : cmdline).getBytes(StandardCharsets.US_ASCII);
        if (cmd.length > MAX_CMDLINE) {
            throw new HypervisorException("kernel command line is " + cmd.length + " bytes; PVH boot takes at most " + MAX_CMDLINE);
        }
        List<E820Map.Entry> entries = map.entries();
        if (entries.size() > MAX_MEMMAP_ENTRIES) {
            throw new HypervisorException("the memory map has " + entries.size() + " entries; start_info holds " + MAX_MEMMAP_ENTRIES);
        }
        long moduleAddress = 0;
        if (module != null && module.length > 0) {
            moduleAddress = (ramTop - module.length) & ~0xfffL;
            if (moduleAddress < kernelEnd || moduleAddress < BOOT_AREA_END) {
                throw new HypervisorException("the ramdisk (" + (module.length >> 10) + " KiB) does not fit above the kernel in "
                        + (ramTop >> 20) + " MiB of RAM");
            }
        }

        for (Piece p : pieces) {
            memory.write(p.paddr, p.data, 0, p.data.length);
            byte[] zeros = new byte[4096];
            for (long z = p.paddr + p.data.length; z < p.end(); z += zeros.length) {
                memory.write(z, zeros, 0, (int) Math.min(zeros.length, p.end() - z));
            }
        }
        if (moduleAddress != 0) {
            memory.write(moduleAddress, module, 0, module.length);
        }
        byte[] page = new byte[0x1000];
        memory.write(START_INFO, page, 0, page.length);
        memory.write(CMDLINE, page, 0, page.length);
        memory.write(CMDLINE, cmd, 0, cmd.length);
        int nrModules = moduleAddress != 0 ? 1 : 0;
        memory.write32(START_INFO, START_INFO_MAGIC);
        memory.write32(START_INFO + 4, 1); // version 1: memmap fields present
        memory.write32(START_INFO + 8, 0); // flags: not privileged, no console of its own
        memory.write32(START_INFO + 12, nrModules);
        write64(memory, START_INFO + 16, nrModules != 0 ? MODLIST : 0);
        write64(memory, START_INFO + 24, CMDLINE);
        write64(memory, START_INFO + 32, 0); // no ACPI tables
        write64(memory, START_INFO + 40, MEMMAP);
        memory.write32(START_INFO + 48, entries.size());
        if (nrModules != 0) {
            write64(memory, MODLIST, moduleAddress);
            write64(memory, MODLIST + 8, module.length);
        }
        for (int i = 0; i < entries.size(); i++) {
            E820Map.Entry e = entries.get(i);
            long at = MEMMAP + (long) i * MEMMAP_ENTRY_SIZE;
            write64(memory, at, e.address());
            write64(memory, at + 8, e.size());
            memory.write32(at + 16, e.type());
        }
        int gdtLimit = LinuxDirectBoot.writeBootGdt(memory);
        long entry = kernel.numericNote(ElfKernel.NOTE_PHYS32_ENTRY, -1);
        return new Loaded(new LinuxDirectBoot.EntryState((int) entry, 0, LinuxDirectBoot.GDT_ADDRESS, gdtLimit,
                LinuxDirectBoot.BOOT_CS, LinuxDirectBoot.BOOT_DS, 0, (int) START_INFO),
                new Layout(entry, kernelStart, kernelEnd, moduleAddress, module == null ? 0 : module.length, entries.size()));
    }

    private static void write64(GuestMemory memory, long address, long value) {
        memory.write32(address, (int) value);
        memory.write32(address + 4, (int) (value >>> 32));
    }

    /** The PVH memory map: RAM contiguous from 0 (Linux reserves the ISA window itself), the APIC pages reserved. */
    static E820Map memoryMap(long ramBytes) {
        E820Map map = new E820Map();
        map.add(0, ramBytes, E820Map.RAM);
        map.add(0xfec00000L, 0x1000, E820Map.RESERVED); // IOAPIC
        map.add(0xfee00000L, 0x1000, E820Map.RESERVED); // local APIC
        return map;
    }

    private static HypervisorException bad(String file, String why) {
        return new HypervisorException("PVH kernel " + file + ": " + why);
    }
}
