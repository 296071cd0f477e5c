package org.xenj.hypervisor.internal.builder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * {@code firmware_override=} for {@code type="hvm"}: an ELF32 i386 executable loaded at its
 * segments' physical addresses and entered as Xen enters hvmloader — 32-bit flat protected mode,
 * paging and interrupts off, at the ELF entry point — so images built to replace hvmloader run.
 * The GDT is the direct boot's (flat code 0x10, data 0x18) in low memory, below anything such an
 * image may claim (it must leave 0x6000–0x6fff alone, as hvmloader's own layout does).
 */
public final class ElfFirmware {

    /** Legacy VGA and ROM windows: no firmware image segment may land there. */
    private static final long LEGACY_HOLE_START = 0xA0000, LEGACY_HOLE_END = 0x100000;

    private ElfFirmware() {
    }

    /** Loads {@code image} (named {@code file} in messages) and returns where the CPU starts. */
    public static LinuxDirectBoot.EntryState load(GuestMemory memory, E820Map map, byte[] image, String file) {
        Loaded l = loadSegments(memory, map, image, why -> bad(file, why));
        int gdtLimit = LinuxDirectBoot.writeBootGdt(memory);
        return new LinuxDirectBoot.EntryState((int) l.entry(), 0, LinuxDirectBoot.GDT_ADDRESS, gdtLimit,
                LinuxDirectBoot.BOOT_CS, LinuxDirectBoot.BOOT_DS);
    }

    /** What {@link #loadSegments} put where: the physical entry point and the end of the highest segment. */
    record Loaded(long entry, long end) {
    }

    /**
     * Copies an ELF32 i386 executable's PT_LOAD segments to their physical addresses (zeroing
     * what memsz adds) after checking every one against the domain's RAM, the VGA/ROM window and
     * the boot GDT page. An entry point given as a virtual address inside a segment is translated
     * to its physical one, as boot loaders do for kernels linked high.
     */
    static Loaded loadSegments(GuestMemory memory, E820Map map, byte[] image,
            java.util.function.Function<String, HypervisorException> bad) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < 52 || b.getInt(0) != 0x464c457f) {
            throw bad.apply("not an ELF file");
        }
        if (image[4] != 1 || image[5] != 1 || (b.getShort(18) & 0xffff) != 3) {
            throw bad.apply("not an ELF32 little-endian i386 image");
        }
        if ((b.getShort(16) & 0xffff) != 2) {
            throw bad.apply("not an executable (ELF type " + (b.getShort(16) & 0xffff) + ")");
        }
        long entry = b.getInt(24) & 0xffffffffL;
        long phoff = b.getInt(28) & 0xffffffffL;
        int phentsize = b.getShort(42) & 0xffff;
        int phnum = b.getShort(44) & 0xffff;
        if (phnum == 0 || phentsize < 32 || phoff + (long) phnum * phentsize > image.length) {
            throw bad.apply("program headers missing or outside the file");
        }
        long physEntry = -1;
        long end = 0;
        int loaded = 0;
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            if (b.getInt(ph) != 1) { // PT_LOAD only
                continue;
            }
            long off = b.getInt(ph + 4) & 0xffffffffL;
            long vaddr = b.getInt(ph + 8) & 0xffffffffL;
            long paddr = b.getInt(ph + 12) & 0xffffffffL;
            long filesz = b.getInt(ph + 16) & 0xffffffffL;
            long memsz = b.getInt(ph + 20) & 0xffffffffL;
            if (filesz > memsz || off + filesz > image.length) {
                throw bad.apply("segment " + i + " lies outside the file");
            }
            checkPlacement(map, "segment " + i, paddr, memsz, bad);
            memory.write(paddr, image, (int) off, (int) filesz);
            zero(memory, paddr + filesz, paddr + memsz);
            if (entry >= paddr && entry < paddr + memsz) {
                physEntry = entry;
            } else if (physEntry < 0 && entry >= vaddr && entry < vaddr + memsz) {
                physEntry = paddr + (entry - vaddr);
            }
            end = Math.max(end, paddr + memsz);
            loaded++;
        }
        if (loaded == 0) {
            throw bad.apply("no loadable segment");
        }
        if (physEntry < 0) {
            throw bad.apply(String.format("entry point 0x%x is outside its loaded segments", entry));
        }
        return new Loaded(physEntry, end);
    }

    /** Refuses a range outside RAM (or in page 0), over the VGA/ROM window or over the boot GDT page. */
    static void checkPlacement(E820Map map, String what, long paddr, long size,
            java.util.function.Function<String, HypervisorException> bad) {
        long ramTop = map.ramTop();
        if (paddr + size > ramTop || paddr < 0x1000) {
            throw bad.apply(String.format("%s at 0x%x-0x%x is outside the domain's RAM (0x1000-0x%x)", what, paddr,
                    paddr + size, ramTop));
        }
        if (paddr < LEGACY_HOLE_END && paddr + size > LEGACY_HOLE_START) {
            throw bad.apply(String.format("%s at 0x%x-0x%x overlaps the VGA/ROM window 0xa0000-0xfffff", what, paddr,
                    paddr + size));
        }
        if (paddr < LinuxDirectBoot.GDT_ADDRESS + 0x1000 && paddr + size > LinuxDirectBoot.GDT_ADDRESS) {
            throw bad.apply(String.format("%s at 0x%x-0x%x overlaps the boot GDT page at 0x%x", what, paddr, paddr + size,
                    LinuxDirectBoot.GDT_ADDRESS));
        }
    }

    static void zero(GuestMemory memory, long from, long to) {
        byte[] zeros = new byte[4096];
        for (long z = from; z < to; z += 4096) {
            int n = (int) Math.min(4096, to - z);
            memory.write(z, zeros, 0, n);
        }
    }

    private static HypervisorException bad(String file, String why) {
        return new HypervisorException("firmware_override " + file + ": " + why);
    }
}
