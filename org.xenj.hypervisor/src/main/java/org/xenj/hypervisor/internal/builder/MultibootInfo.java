package org.xenj.hypervisor.internal.builder;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The Multiboot information structure a kernel finds at EBX, with everything it points to laid
 * out after it in one block: the module list, the memory map (the domain's e820 map, one 24-byte
 * entry each: size 20, base, length, type), the command-line strings and the boot loader's name.
 * Offsets and flag bits are the Multiboot Specification 0.6.96's ({@code multiboot_info}).
 */
final class MultibootInfo {

    static final int INFO_MEMORY = 1;
    static final int INFO_CMDLINE = 1 << 2;
    static final int INFO_MODULES = 1 << 3;
    static final int INFO_MEMORY_MAP = 1 << 6;
    static final int INFO_BOOT_LOADER_NAME = 1 << 9;
    /** The structure up to and including the framebuffer fields, which we leave zero (flag 12 clear). */
    static final int INFO_SIZE = 116;
    static final String BOOT_LOADER_NAME = "xenj";

    private final E820Map map;
    private final String cmdline;
    private final List<MultibootKernel.Module> modules;
    private final List<long[]> placedModules;

    MultibootInfo(E820Map map, String cmdline, List<MultibootKernel.Module> modules, List<long[]> placedModules) {
        this.map = map;
        this.cmdline = cmdline == null ? "" : cmdline;
        this.modules = modules;
        this.placedModules = placedModules;
    }

    /** KiB of RAM from address 0, and from 1 MiB up to the first hole (Multiboot's mem_lower/mem_upper). */
    static long[] memorySizesKiB(E820Map map) {
        long lower = 0, upper = 0;
        for (E820Map.Entry e : map.entries()) {
            if (e.type() == E820Map.RAM && e.address() == 0) {
                lower = Math.min(e.size(), 0xa0000) >> 10;
            }
            if (e.type() == E820Map.RAM && e.address() == 0x100000) {
                upper = e.size() >> 10;
            }
        }
        return new long[] {lower, upper};
    }

    /** The block as it is to lie at guest-physical {@code base}. */
    byte[] bytes(long base) {
        List<E820Map.Entry> entries = map.entries();
        int modsAt = INFO_SIZE;
        int mmapAt = modsAt + 16 * modules.size();
        int stringsAt = mmapAt + 24 * entries.size();
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(stringsAt).order(ByteOrder.LITTLE_ENDIAN);

        long[] mem = memorySizesKiB(map);
        b.putInt(0, INFO_MEMORY | INFO_CMDLINE | INFO_MODULES | INFO_MEMORY_MAP | INFO_BOOT_LOADER_NAME);
        b.putInt(4, (int) mem[0]);
        b.putInt(8, (int) mem[1]);
        b.putInt(16, (int) (base + stringsAt + append(strings, cmdline)));
        b.putInt(20, modules.size());
        b.putInt(24, (int) (base + modsAt));
        b.putInt(44, 24 * entries.size());
        b.putInt(48, (int) (base + mmapAt));
        b.putInt(64, (int) (base + stringsAt + append(strings, BOOT_LOADER_NAME)));
        for (int i = 0; i < modules.size(); i++) {
            int m = modsAt + 16 * i;
            b.putInt(m, (int) placedModules.get(i)[0]);
            b.putInt(m + 4, (int) placedModules.get(i)[1]);
            b.putInt(m + 8, (int) (base + stringsAt + append(strings, modules.get(i).cmdline())));
        }
        for (int i = 0; i < entries.size(); i++) {
            int e = mmapAt + 24 * i;
            b.putInt(e, 20); // the entry's size, not counting this field
            b.putLong(e + 4, entries.get(i).address());
            b.putLong(e + 12, entries.get(i).size());
            b.putInt(e + 20, entries.get(i).type());
        }
        byte[] s = strings.toByteArray();
        byte[] all = new byte[stringsAt + s.length];
        System.arraycopy(b.array(), 0, all, 0, stringsAt);
        System.arraycopy(s, 0, all, stringsAt, s.length);
        return all;
    }

    /** Appends {@code s} NUL-terminated and returns its offset within the strings. */
    private static int append(ByteArrayOutputStream strings, String s) {
        int at = strings.size();
        strings.writeBytes(MultibootKernel.cString(s == null ? "" : s));
        return at;
    }
}
