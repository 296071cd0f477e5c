package org.xenj.hypervisor.internal.builder;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * The BIOS e820 memory map an HVM guest is given: RAM below the EBDA, the EBDA and BIOS areas
 * reserved, RAM from 1 MiB, and the IOAPIC and local APIC pages reserved.
 */
public final class E820Map {

    public static final int RAM = 1;
    public static final int RESERVED = 2;
    /** boot_params holds at most 128 entries. */
    static final int MAX_ENTRIES = 128;

    public record Entry(long address, long size, int type) {
    }

    private final List<Entry> entries = new ArrayList<>();

    public List<Entry> entries() {
        return List.copyOf(entries);
    }

    public void add(long address, long size, int type) {
        if (size > 0) {
            entries.add(new Entry(address, size, type));
        }
    }

    /** Bytes of RAM the map declares. */
    public long ramBytes() {
        return entries.stream().filter(e -> e.type == RAM).mapToLong(Entry::size).sum();
    }

    /** End of the highest RAM range below 4 GiB. */
    public long ramTop() {
        return entries.stream().filter(e -> e.type == RAM && e.address < (1L << 32))
                .mapToLong(e -> e.address + e.size).max().orElse(0);
    }

    /** First address at or after {@code from} (below {@code limit}) that is not RAM. */
    private static long contiguousEnd(DomainMemory memory, long from, long limit) {
        long end = from;
        while (end < limit && end >>> 12 < memory.gfnLimit() && memory.mfn(end >>> 12) != DomainMemory.INVALID_MFN) {
            end += 4096;
        }
        return end;
    }

    /**
     * The PC layout over the frames the domain core populated: from frame 0 up to the VGA window
     * and from 1 MiB up ({@link org.xenj.hypervisor.internal.mem.HvmRamLayout}), or contiguous from 0.
     */
    public static E820Map forHvm(DomainMemory memory) {
        E820Map map = new E820Map();
        long lowEnd = contiguousEnd(memory, 0, 0xa0000);
        // above 1 MiB: RAM continues from where the low part ran into the VGA window (or the end)
        long ramEnd = lowEnd < 0xa0000 ? lowEnd : contiguousEnd(memory, 0x100000, Long.MAX_VALUE);
        long low = Math.min(lowEnd, 0x9fc00);
        map.add(0, low, RAM);
        if (ramEnd > 0x9fc00) {
            map.add(0x9fc00, 0x400, RESERVED); // EBDA
            map.add(0xf0000, 0x10000, RESERVED); // BIOS ROM area
        }
        if (ramEnd > 0x100000) {
            map.add(0x100000, ramEnd - 0x100000, RAM);
        }
        map.add(0xfec00000L, 0x1000, RESERVED); // IOAPIC
        map.add(0xfee00000L, 0x1000, RESERVED); // local APIC
        return map;
    }
}
