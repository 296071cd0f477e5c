package org.xenj.hypervisor.internal.builder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * A kernel that carries a Multiboot (version 1) header, booted as GRUB or QEMU's {@code -kernel}
 * boot it: the image loaded by its ELF program headers, or by the header's address fields when
 * flag 16 is set (the "a.out kludge" for flat binaries); each module page-aligned after the
 * kernel; the information structure (memory sizes, command line, modules, the e820 map as the
 * Multiboot memory map, the boot loader's name) after the modules; then the CPU enters the entry
 * point in 32-bit flat protected mode, paging and interrupts off, with EAX = 0x2BADB002 and EBX =
 * the information structure. The facts come from the Multiboot Specification 0.6.96.
 *
 * <p>The header is the image's own claim about itself: every field is checked before anything is
 * written, and a bad one is refused naming the field.
 */
public final class MultibootKernel {

    public static final int HEADER_MAGIC = 0x1BADB002;
    /** What EAX holds at the kernel's entry. */
    public static final int BOOTLOADER_MAGIC = 0x2BADB002;
    /** The header must lie 4-byte aligned within the image's first 8 KiB. */
    static final int SEARCH_LIMIT = 8192;

    static final int FLAG_PAGE_ALIGN = 1;
    static final int FLAG_MEMORY_INFO = 1 << 1;
    static final int FLAG_VIDEO_MODE = 1 << 2;
    static final int FLAG_ADDRESSES = 1 << 16;
    /** Bits 0-15 are requirements a loader must fulfil or refuse; these are the ones we fulfil (video: see below). */
    private static final int REQUIRED_UNDERSTOOD = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_VIDEO_MODE;

    /** A module: its bytes and the string the kernel gets with it. */
    public record Module(byte[] data, String cmdline) {
    }

    /** Where things went, for logs and tests. */
    public record Layout(long kernelStart, long kernelEnd, long infoAddress, List<long[]> modules) {
    }

    private final byte[] image;
    private final String file;
    private final int headerOffset;
    private final int flags;
    private Layout layout;

    private MultibootKernel(byte[] image, String file, int headerOffset, int flags) {
        this.image = image;
        this.file = file;
        this.headerOffset = headerOffset;
        this.flags = flags;
    }

    /** The header's offset in {@code image}, or -1 if the image carries no Multiboot header. */
    public static int findHeader(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int limit = Math.min(image.length, SEARCH_LIMIT) - 12;
        for (int off = 0; off <= limit; off += 4) {
            if (b.getInt(off) == HEADER_MAGIC && b.getInt(off) + b.getInt(off + 4) + b.getInt(off + 8) == 0) {
                return off;
            }
        }
        return -1;
    }

    /** Whether the image claims to be a Multiboot kernel: the magic, 4-byte aligned, in its first 8 KiB. */
    public static boolean isMultiboot(byte[] image) {
        return firstMagic(image) >= 0;
    }

    private static int firstMagic(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        for (int off = 0; off <= Math.min(image.length, SEARCH_LIMIT) - 4; off += 4) {
            if (b.getInt(off) == HEADER_MAGIC) {
                return off;
            }
        }
        return -1;
    }

    /** Parses the header of {@code image} (named {@code file} in messages). */
    public static MultibootKernel parse(byte[] image, String file) {
        int off = findHeader(image);
        if (off < 0) {
            int magic = firstMagic(image);
            throw new HypervisorException("kernel " + file + (magic < 0
                    ? ": no Multiboot header (magic 0x1badb002) in its first 8 KiB"
                    : String.format(": the Multiboot header at offset 0x%x has a bad checksum (magic + flags + checksum != 0)", magic)));
        }
        int flags = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt(off + 4);
        int unknown = flags & 0xffff & ~REQUIRED_UNDERSTOOD;
        if (unknown != 0) {
            throw new HypervisorException(String.format("kernel %s: the Multiboot header requires features xenj does not "
                    + "offer (flags 0x%x, unknown required bits 0x%x)", file, flags, unknown));
        }
        if ((flags & FLAG_ADDRESSES) != 0 && off + 32 > image.length) {
            throw new HypervisorException("kernel " + file + ": the Multiboot header's address fields lie past the end of the file");
        }
        return new MultibootKernel(image, file, off, flags);
    }

    public int flags() {
        return flags;
    }

    /** Where {@link #load} put the kernel, the modules and the information structure. */
    public Layout layout() {
        return layout;
    }

    /**
     * Loads the kernel, {@code modules} and the information structure; returns where the CPU
     * starts. {@code log} hears what a boot loader would say (e.g. a video mode it cannot set).
     */
    public LinuxDirectBoot.EntryState load(GuestMemory memory, E820Map map, String cmdline, List<Module> modules,
            Consumer<String> log) {
        if ((flags & FLAG_VIDEO_MODE) != 0) {
            // as QEMU: there is no graphics mode to give, the kernel gets the text console it has
            log.accept("multiboot: " + file + " asks for a video mode; it gets none (no framebuffer information)");
        }
        long entry;
        long start;
        long end;
        if ((flags & FLAG_ADDRESSES) != 0) {
            long[] placed = loadByAddressFields(memory, map);
            start = placed[0];
            end = placed[1];
            entry = placed[2];
        } else {
            if (image.length < 4 || ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt(0) != 0x464c457f) {
                throw bad("neither an ELF image nor a header with address fields (flag 16): nothing says where to load it");
            }
            ElfFirmware.Loaded l = ElfFirmware.loadSegments(memory, map, image, this::bad);
            entry = l.entry();
            end = l.end();
            start = -1;
        }
        long cursor = pageAlign(end);
        List<long[]> placedModules = new ArrayList<>();
        for (int i = 0; i < modules.size(); i++) {
            byte[] data = modules.get(i).data();
            ElfFirmware.checkPlacement(map, "module " + i + " (" + data.length + " bytes)", cursor, data.length, this::bad);
            memory.write(cursor, data, 0, data.length);
            placedModules.add(new long[] {cursor, cursor + data.length});
            cursor = pageAlign(cursor + data.length);
        }
        MultibootInfo info = new MultibootInfo(map, cmdline, modules, placedModules);
        byte[] infoBytes = info.bytes(cursor);
        ElfFirmware.checkPlacement(map, "the Multiboot information (" + infoBytes.length + " bytes)", cursor,
                infoBytes.length, this::bad);
        memory.write(cursor, infoBytes, 0, infoBytes.length);
        int gdtLimit = LinuxDirectBoot.writeBootGdt(memory);
        layout = new Layout(start, end, cursor, placedModules);
        return new LinuxDirectBoot.EntryState((int) entry, 0, LinuxDirectBoot.GDT_ADDRESS, gdtLimit, LinuxDirectBoot.BOOT_CS,
                LinuxDirectBoot.BOOT_DS, BOOTLOADER_MAGIC, (int) cursor);
    }

    /** Flag 16: header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr place a flat image. Returns start, end, entry. */
    private long[] loadByAddressFields(GuestMemory memory, E820Map map) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        long headerAddr = b.getInt(headerOffset + 12) & 0xffffffffL;
        long loadAddr = b.getInt(headerOffset + 16) & 0xffffffffL;
        long loadEndAddr = b.getInt(headerOffset + 20) & 0xffffffffL;
        long bssEndAddr = b.getInt(headerOffset + 24) & 0xffffffffL;
        long entryAddr = b.getInt(headerOffset + 28) & 0xffffffffL;
        if (loadAddr > headerAddr) {
            throw bad(String.format("load_addr 0x%x lies above header_addr 0x%x", loadAddr, headerAddr));
        }
        long fileOffset = headerOffset - (headerAddr - loadAddr);
        if (fileOffset < 0) {
            throw bad(String.format("header_addr 0x%x - load_addr 0x%x puts the load start before the file's first byte",
                    headerAddr, loadAddr));
        }
        long loadSize = loadEndAddr == 0 ? image.length - fileOffset : loadEndAddr - loadAddr;
        if (loadEndAddr != 0 && loadEndAddr <= loadAddr) {
            throw bad(String.format("load_end_addr 0x%x is not above load_addr 0x%x", loadEndAddr, loadAddr));
        }
        if (fileOffset + loadSize > image.length) {
            throw bad(String.format("load_end_addr 0x%x asks for %d bytes the file does not have", loadEndAddr,
                    fileOffset + loadSize - image.length));
        }
        long loadEnd = loadAddr + loadSize;
        long end = loadEnd;
        if (bssEndAddr != 0) {
            if (bssEndAddr < loadEnd) {
                throw bad(String.format("bss_end_addr 0x%x lies below the loaded image's end 0x%x", bssEndAddr, loadEnd));
            }
            end = bssEndAddr;
        }
        ElfFirmware.checkPlacement(map, "the kernel", loadAddr, end - loadAddr, this::bad);
        if (entryAddr < loadAddr || entryAddr >= end) {
            throw bad(String.format("entry_addr 0x%x lies outside the kernel 0x%x-0x%x", entryAddr, loadAddr, end));
        }
        memory.write(loadAddr, image, (int) fileOffset, (int) loadSize);
        ElfFirmware.zero(memory, loadEnd, end);
        return new long[] {loadAddr, end, entryAddr};
    }

    private static long pageAlign(long a) {
        return (a + 0xfff) & ~0xfffL;
    }

    private HypervisorException bad(String why) {
        return new HypervisorException("multiboot kernel " + file + ": " + why);
    }

    /** The command line a boot loader gives: the kernel's name, then its arguments. */
    public static String commandLine(String kernelFile, String args) {
        return args == null || args.isBlank() ? kernelFile : kernelFile + " " + args;
    }

    static byte[] cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        return z;
    }
}
