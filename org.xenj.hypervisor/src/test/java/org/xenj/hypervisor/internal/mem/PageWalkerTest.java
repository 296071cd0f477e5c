package org.xenj.hypervisor.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The shared page walk on hand-built tables: the rules every reader of guest page tables relies on. */
class PageWalkerTest {

    /** Page tables in a map from table address to entry; records A/D write-backs. */
    static final class Tables implements PageWalker.TableMemory {
        final Map<Long, Long> entries = new HashMap<>();
        int writes;

        @Override
        public long readEntry(long address, boolean wide) {
            long e = entries.getOrDefault(address, 0L);
            return wide ? e : e & 0xffffffffL;
        }

        @Override
        public void writeEntryLow(long address, int value) {
            writes++;
            entries.put(address, (entries.getOrDefault(address, 0L) & 0xffffffff00000000L) | (value & 0xffffffffL));
        }
    }

    static final long CR3 = 0x1000;

    @Test
    void twoLevelWalkSetsAccessedAndDirtyAndCachesWritesOnlyOnceDirty() {
        Tables t = new Tables();
        t.entries.put(CR3 + 4 * 0x300, 0x2000L | 7);            // PDE for 0xC0000000: P RW US
        t.entries.put(0x2000L + 4 * 5, 0x0005_5000L | 3);      // PTE page 5: P RW
        PageWalker w = new PageWalker(t, PageWalker.Options.CPU);
        assertEquals(0x55123, w.walk(CR3, false, false, true, 0xC0005123, false, false));
        assertFalse(w.writable, "clean page: the first write must walk again to set D");
        assertEquals(0x20, t.entries.get(0x2000L + 4 * 5) & 0x60, "accessed set, not dirty");
        assertEquals(0x20, t.entries.get(CR3 + 4 * 0x300) & 0x20, "directory accessed");
        assertEquals(0x55123, w.walk(CR3, false, false, true, 0xC0005123, true, false));
        assertTrue(w.writable);
        assertEquals(0x60, t.entries.get(0x2000L + 4 * 5) & 0x60, "dirty after the write");
    }

    @Test
    void userAndWriteRightsFollowCr0Wp() {
        Tables t = new Tables();
        t.entries.put(CR3, 0x2000L | 3);                 // PDE supervisor, RW
        t.entries.put(0x2000L + 4, 0x0007_7000L | 1);     // PTE read-only
        PageWalker w = new PageWalker(t, PageWalker.Options.CPU);
        assertEquals(PageWalker.FAULT, w.walk(CR3, false, false, true, 0x1000, false, true));
        assertEquals(PageWalker.PF_P, w.faultCode, "user access to a supervisor page: protection fault");
        assertEquals(PageWalker.FAULT, w.walk(CR3, false, false, true, 0x1000, true, false));
        assertEquals(PageWalker.PF_P, w.faultCode, "supervisor write to read-only with WP=1");
        assertEquals(0x77000, w.walk(CR3, false, false, false, 0x1000, true, false), "WP=0: supervisor writes ignore R/W");
        assertEquals(PageWalker.FAULT, w.walk(CR3, false, false, false, 0x2000, false, false));
        assertEquals(0, w.faultCode, "not present");
        assertEquals(1, w.faultLevel);
        assertEquals(0x2000L + 8, w.lastEntryAddress, "the entry that faulted");
    }

    @Test
    void largePagesNeedPseInTwoLevelMode() {
        Tables t = new Tables();
        t.entries.put(CR3 + 4, 0x0080_0000L | 0x83);     // 4 MiB page at 8 MiB for VA 4 MiB
        PageWalker w = new PageWalker(t, PageWalker.Options.CPU);
        assertEquals(0x0081_2345L, w.walk(CR3, false, true, true, 0x0041_2345, false, false));
        // without CR4.PSE the PS bit is ignored and the entry names a page table
        t.entries.put(0x0080_0000L + 4 * 0x12, 0x0009_9000L | 1);
        assertEquals(0x0009_9345L, w.walk(CR3, false, false, true, 0x0041_2345, false, false));
    }

    @Test
    void paeReservedBitsFaultWithRsvdAndTwoMiBPagesMap() {
        Tables t = new Tables();
        long l3 = 0x3000, l2 = 0x4000, l1 = 0x5000;
        t.entries.put(l3 + 8 * 3, l2 | 1);
        t.entries.put(l2 + 8 * 1, 0x0060_0000L | 0x83);          // 2 MiB page for 0xC0200000
        t.entries.put(l2 + 8 * 2, l1 | 3);
        t.entries.put(l1 + 8 * 7, 0x0001_2000L | 3 | (1L << 40)); // bit 40: reserved (36-bit space)
        PageWalker w = new PageWalker(t, PageWalker.Options.CPU);
        assertEquals(0x0061_2345L, w.walk(l3, true, false, true, 0xC021_2345, false, false));
        assertEquals(PageWalker.FAULT, w.walk(l3, true, false, true, 0xC040_7000, false, false));
        assertEquals(PageWalker.PF_RSVD | PageWalker.PF_P, w.faultCode);
        t.entries.put(l2 + 8 * 1, 0x0060_2000L | 0x83);          // bit 13 in a 2 MiB entry: reserved
        assertEquals(PageWalker.FAULT, w.walk(l3, true, false, true, 0xC021_2345, false, false));
        assertEquals(PageWalker.PF_RSVD | PageWalker.PF_P, w.faultCode);
    }

    @Test
    void pvWalkRefusesSuperpagesIgnoresNxAndWritesNothing() {
        Tables t = new Tables();
        long l3 = 0x3000, l2 = 0x4000, l1 = 0x5000;
        t.entries.put(l3, l2 | 1);
        t.entries.put(l2, l1 | 3);
        t.entries.put(l2 + 8, 0x0060_0000L | 0x83);
        t.entries.put(l1 + 8, 0x0001_2000L | 3 | (1L << 63));    // NX: ignored by the PV view
        PageWalker w = new PageWalker(t, PageWalker.Options.PV);
        assertEquals(0x0001_2abcL, w.walk(l3, true, false, true, 0x1abc, true, false));
        assertEquals(0, t.writes, "no accessed/dirty write-back in PV tables");
        assertEquals(PageWalker.FAULT, w.walk(l3, true, false, true, 0x0020_0000, false, false), "superpage refused");
        assertEquals(2, w.faultLevel);
    }
}
