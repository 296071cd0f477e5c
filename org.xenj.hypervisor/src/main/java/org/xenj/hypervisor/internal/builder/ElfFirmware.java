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
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < 52 || b.getInt(0) != 0x464c457f) {
            throw bad(file, "not an ELF file");
        }
        if (image[4] != 1 || image[5] != 1 || (b.getShort(18) & 0xffff) != 3) {
            throw bad(file, "not an ELF32 little-endian i386 image");
        }
        if ((b.getShort(16) & 0xffff) != 2) {
            throw bad(file, "not an executable (ELF type " + (b.getShort(16) & 0xffff) + ")");
        }
        long entry = b.getInt(24) & 0xffffffffL;
        long phoff = b.getInt(28) & 0xffffffffL;
        int phentsize = b.getShort(42) & 0xffff;
        int phnum = b.getShort(44) & 0xffff;
        if (phnum == 0 || phentsize < 32 || phoff + (long) phnum * phentsize > image.length) {
            throw bad(file, "program headers missing or outside the file");
        }
        long ramTop = map.ramTop();
        boolean entryLoaded = false;
        int loaded = 0;
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            if (b.getInt(ph) != 1) { // PT_LOAD only
                continue;
            }
            long off = b.getInt(ph + 4) & 0xffffffffL;
            long paddr = b.getInt(ph + 12) & 0xffffffffL;
            long filesz = b.getInt(ph + 16) & 0xffffffffL;
            long memsz = b.getInt(ph + 20) & 0xffffffffL;
            if (filesz > memsz || off + filesz > image.length) {
                throw bad(file, "segment " + i + " lies outside the file");
            }
            if (paddr + memsz > ramTop || paddr < 0x1000) {
                throw bad(file, String.format("segment %d at 0x%x-0x%x is outside the domain's RAM (0x1000-0x%x)", i, paddr,
                        paddr + memsz, ramTop));
            }
            if (paddr < LEGACY_HOLE_END && paddr + memsz > LEGACY_HOLE_START) {
                throw bad(file, String.format("segment %d at 0x%x-0x%x overlaps the VGA/ROM window 0xa0000-0xfffff", i, paddr,
                        paddr + memsz));
            }
            if (paddr < LinuxDirectBoot.GDT_ADDRESS + 0x1000 && paddr + memsz > LinuxDirectBoot.GDT_ADDRESS) {
                throw bad(file, String.format("segment %d at 0x%x-0x%x overlaps the boot GDT page at 0x%x", i, paddr,
                        paddr + memsz, LinuxDirectBoot.GDT_ADDRESS));
            }
            memory.write(paddr, image, (int) off, (int) filesz);
            for (long z = paddr + filesz; z < paddr + memsz; z += 4096) {
                int n = (int) Math.min(4096, paddr + memsz - z);
                memory.write(z, new byte[n], 0, n);
            }
            entryLoaded |= entry >= paddr && entry < paddr + memsz;
            loaded++;
        }
        if (loaded == 0) {
            throw bad(file, "no loadable segment");
        }
        if (!entryLoaded) {
            throw bad(file, String.format("entry point 0x%x is outside its loaded segments", entry));
        }
        long[] gdt = {0, 0, LinuxDirectBoot.FLAT_CODE, LinuxDirectBoot.FLAT_DATA};
        for (int i = 0; i < gdt.length; i++) {
            memory.write32(LinuxDirectBoot.GDT_ADDRESS + i * 8L, (int) gdt[i]);
            memory.write32(LinuxDirectBoot.GDT_ADDRESS + i * 8L + 4, (int) (gdt[i] >>> 32));
        }
        return new LinuxDirectBoot.EntryState((int) entry, 0, LinuxDirectBoot.GDT_ADDRESS, gdt.length * 8 - 1,
                LinuxDirectBoot.BOOT_CS, LinuxDirectBoot.BOOT_DS);
    }

    private static HypervisorException bad(String file, String why) {
        return new HypervisorException("firmware_override " + file + ": " + why);
    }
}
