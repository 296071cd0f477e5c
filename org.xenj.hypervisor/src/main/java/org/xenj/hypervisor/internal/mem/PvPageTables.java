package org.xenj.hypervisor.internal.mem;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.EBUSY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EINVAL;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EPERM;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.HYPERVISOR_VIRT_START;

import java.util.Arrays;

import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Xen's PV page-table discipline for one domain's PAE tables: every frame has a type (none,
 * L1, L2, L3, hypervisor-private) with a reference count, and the type system guarantees that
 *  - a present entry only ever names a frame the domain owns,
 *  - a frame in use as a page table is never mapped writable, and a writably mapped frame never
 *    becomes a page table,
 *  - the hypervisor's slots of the top L2 (from {@link org.xenj.hypervisor.internal.xenabi.XenAbi#HYPERVISOR_VIRT_START})
 *    hold only the read-only M2P mappings the hypervisor put there.
 * Validation is recursive (an L3 takes its L2s, which take their L1s) and all or nothing.
 * Methods return 0 or Xen's negative errno. Not thread-safe: the caller holds the domain's MMU lock.
 */
public final class PvPageTables {

    public static final int NONE = 0;
    public static final int L1 = 1;
    public static final int L2 = 2;
    public static final int L3 = 3;
    /** Frames the hypervisor owns inside the domain (M2P table and its L1s): never writable, never a guest table. */
    public static final int XEN = 4;
    /** A GDT/LDT frame: descriptors validated, never writable. */
    public static final int DESC = 5;

    public static final long P = 1;
    public static final long RW = 2;
    public static final long US = 4;
    public static final long PS = 0x80;
    static final long ADDR_MASK = 0x000F_FFFF_FFFF_F000L;
    /** Bits 52..62: reserved/available in PAE entries; refused so that no hidden state rides along. */
    static final long HIGH_RESERVED = 0x7FF0_0000_0000_0000L;
    /** PAE PDPT entries may only carry P, PWT, PCD and the address. */
    static final long L3_ALLOWED = P | 0x8 | 0x10 | ADDR_MASK;
    /** First L2 slot (in the L2 under L3 slot 3) that belongs to the hypervisor. */
    public static final int XEN_L2_FIRST_SLOT = (int) ((HYPERVISOR_VIRT_START & 0x3FFFFFFFL) >>> 21);

    private final MachineMemory machine;
    private final int domid;
    private int[] type = new int[0];
    private int[] typeRefs = new int[0];
    private int[] writeRefs = new int[0];
    private int[] mapRefs = new int[0];
    private boolean[] pinned = new boolean[0];
    private boolean[] xenL2 = new boolean[0];
    /** L2 entries the hypervisor installs in the hypervisor slots of every top L2 (read-only M2P). */
    private long[] xenSlots = new long[0];

    public PvPageTables(MachineMemory machine, int domid) {
        this.machine = machine;
        this.domid = domid;
    }

    /** The read-only M2P L1 entries to place from {@link #XEN_L2_FIRST_SLOT} on in every top L2. */
    public void setXenSlots(long[] entries) {
        this.xenSlots = entries.clone();
    }

    private void ensure(int mfn) {
        if (mfn >= type.length) {
            int n = Math.max(mfn + 1, type.length * 2);
            type = Arrays.copyOf(type, n);
            typeRefs = Arrays.copyOf(typeRefs, n);
            writeRefs = Arrays.copyOf(writeRefs, n);
            mapRefs = Arrays.copyOf(mapRefs, n);
            pinned = Arrays.copyOf(pinned, n);
            xenL2 = Arrays.copyOf(xenL2, n);
        }
    }

    /** Ints per frame in {@link #saveTypes}: mfn, type, type refs, writable maps, maps, flags (1 pinned, 2 Xen's L2). */
    public static final int TYPE_ROW = 6;

    /**
     * Every frame with a type, a reference or a pin, {@link #TYPE_ROW} ints each, by mfn (a PV save:
     * the restored domain holds the same frames, so the counts apply as they are).
     */
    public int[] saveTypes() {
        int n = 0;
        for (int m = 0; m < type.length; m++) {
            if (used(m)) {
                n++;
            }
        }
        int[] out = new int[n * TYPE_ROW];
        int i = 0;
        for (int m = 0; m < type.length; m++) {
            if (used(m)) {
                out[i++] = m;
                out[i++] = type[m];
                out[i++] = typeRefs[m];
                out[i++] = writeRefs[m];
                out[i++] = mapRefs[m];
                out[i++] = (pinned[m] ? 1 : 0) | (xenL2[m] ? 2 : 0);
            }
        }
        return out;
    }

    private boolean used(int m) {
        return type[m] != NONE || typeRefs[m] != 0 || writeRefs[m] != 0 || mapRefs[m] != 0 || pinned[m] || xenL2[m];
    }

    /** Replaces every type, count and pin with {@code rows} (from {@link #saveTypes}, checked by the record). */
    public void restoreTypes(int[] rows) {
        type = new int[0];
        typeRefs = new int[0];
        writeRefs = new int[0];
        mapRefs = new int[0];
        pinned = new boolean[0];
        xenL2 = new boolean[0];
        for (int i = 0; i + TYPE_ROW <= rows.length; i += TYPE_ROW) {
            int m = rows[i];
            ensure(m);
            type[m] = rows[i + 1];
            typeRefs[m] = rows[i + 2];
            writeRefs[m] = rows[i + 3];
            mapRefs[m] = rows[i + 4];
            pinned[m] = (rows[i + 5] & 1) != 0;
            xenL2[m] = (rows[i + 5] & 2) != 0;
        }
    }

    public boolean owns(long mfn) {
        return mfn >= 0 && mfn <= Integer.MAX_VALUE && machine.owner(mfn) == domid;
    }

    public int typeOf(int mfn) {
        return mfn >= 0 && mfn < type.length ? type[mfn] : NONE;
    }

    public int typeRefs(int mfn) {
        return mfn >= 0 && mfn < typeRefs.length ? typeRefs[mfn] : 0;
    }

    public int writableMappings(int mfn) {
        return mfn >= 0 && mfn < writeRefs.length ? writeRefs[mfn] : 0;
    }

    public boolean isPinned(int mfn) {
        return mfn >= 0 && mfn < pinned.length && pinned[mfn];
    }

    /** Marks a frame as the hypervisor's (M2P); it must be untyped and unmapped. */
    public void markXen(int mfn) {
        ensure(mfn);
        type[mfn] = XEN;
        typeRefs[mfn] = 1;
    }

    /** Whether the frame may be given back (balloon): untyped, unpinned and mapped nowhere. */
    public boolean releasable(int mfn) {
        return owns(mfn) && typeOf(mfn) == NONE && (mfn >= mapRefs.length || mapRefs[mfn] == 0);
    }

    /**
     * The frame an entry names, or -1 when its address has bits at or above 2^43 (no frame of ours:
     * a plain int cast would drop them and name a frame the entry does not — found by the
     * writable-page-table fuzz, reachable through mmu_update too).
     */
    static int entryMfn(long e) {
        long mfn = (e & ADDR_MASK) >>> 12;
        return mfn <= Integer.MAX_VALUE ? (int) mfn : -1;
    }

    // ---------------------------------------------------------------- entry references

    private int getL1e(long e) {
        if ((e & P) == 0) {
            return 0;
        }
        if ((e & HIGH_RESERVED) != 0) {
            return -EINVAL;
        }
        int mfn = entryMfn(e);
        if (!owns(mfn)) {
            return -EPERM;
        }
        ensure(mfn);
        if ((e & RW) != 0) {
            if (type[mfn] != NONE) {
                return -EPERM; // a page table (or Xen's frame) never becomes writable
            }
            writeRefs[mfn]++;
        }
        mapRefs[mfn]++;
        return 0;
    }

    private void putL1e(long e) {
        if ((e & P) == 0) {
            return;
        }
        int mfn = entryMfn(e);
        if (mfn < 0 || mfn >= mapRefs.length || mapRefs[mfn] == 0) {
            return; // a mapping the hypervisor installed (grant), not counted here
        }
        if ((e & RW) != 0 && writeRefs[mfn] > 0) {
            writeRefs[mfn]--;
        }
        mapRefs[mfn]--;
    }

    private int getL2e(long e) {
        if ((e & P) == 0) {
            return 0;
        }
        if ((e & (HIGH_RESERVED | PS)) != 0) {
            return -EINVAL; // no superpages for PV guests
        }
        return getType(entryMfn(e), L1);
    }

    private void putL2e(long e) {
        if ((e & P) != 0) {
            putType(entryMfn(e));
        }
    }

    private int getL3e(long e, int slot) {
        if ((e & P) == 0) {
            return 0;
        }
        if ((e & ~L3_ALLOWED) != 0) {
            return -EINVAL;
        }
        int mfn = entryMfn(e);
        if (slot == 3) {
            // The top L2 also holds hypervisor slots, so it must be this L3's alone.
            if (typeOf(mfn) != NONE) {
                return -EINVAL;
            }
            int rc = getType(mfn, L2);
            if (rc == 0) {
                xenL2[mfn] = true;
                installXenSlots(mfn);
            }
            return rc;
        }
        if (mfn >= 0 && mfn < xenL2.length && xenL2[mfn]) {
            return -EINVAL;
        }
        return getType(mfn, L2);
    }

    private void putL3e(long e) {
        if ((e & P) != 0) {
            putType(entryMfn(e));
        }
    }

    private void installXenSlots(int l2) {
        long base = (long) l2 << 12;
        for (int i = XEN_L2_FIRST_SLOT; i < 512; i++) {
            int k = i - XEN_L2_FIRST_SLOT;
            MachineFrames.write64(machine, base + 8L * i, k < xenSlots.length ? xenSlots[k] : 0);
        }
    }

    // ---------------------------------------------------------------- types

    /** Takes a type reference on {@code mfn} as a level-{@code t} table, validating it on first use. */
    public int getType(int mfn, int t) {
        if (!owns(mfn)) {
            return -EPERM;
        }
        ensure(mfn);
        if (type[mfn] == t && typeRefs[mfn] > 0) {
            typeRefs[mfn]++;
            return 0;
        }
        if (type[mfn] != NONE) {
            return -EINVAL;
        }
        if (writeRefs[mfn] != 0) {
            return -EPERM; // still mapped writable somewhere
        }
        type[mfn] = t; // provisional, so that a table referencing itself is caught
        typeRefs[mfn] = 1;
        int rc = validate(mfn, t);
        if (rc != 0) {
            type[mfn] = NONE;
            typeRefs[mfn] = 0;
        }
        return rc;
    }

    /** Drops a type reference; the last one releases what the table referenced. */
    public void putType(int mfn) {
        if (mfn < 0 || mfn >= typeRefs.length || typeRefs[mfn] == 0 || type[mfn] == XEN) {
            return;
        }
        if (--typeRefs[mfn] > 0) {
            return;
        }
        int t = type[mfn];
        long base = (long) mfn << 12;
        if (t == DESC) {
            type[mfn] = NONE;
            return;
        }
        int slots = t == L3 ? 4 : (xenL2[mfn] ? XEN_L2_FIRST_SLOT : 512);
        for (int i = 0; i < slots; i++) {
            long e = MachineFrames.read64(machine, base + 8L * i);
            switch (t) {
                case L1 -> putL1e(e);
                case L2 -> putL2e(e);
                case L3 -> putL3e(e);
                default -> {
                }
            }
        }
        if (xenL2[mfn]) {
            xenL2[mfn] = false;
            for (int i = XEN_L2_FIRST_SLOT; i < 512; i++) {
                MachineFrames.write64(machine, base + 8L * i, 0);
            }
        }
        type[mfn] = NONE;
    }

    private int validate(int mfn, int t) {
        long base = (long) mfn << 12;
        if (t == DESC) {
            for (int i = 0; i < 512; i++) {
                long d = MachineFrames.read64(machine, base + 8L * i);
                long fixed = Descriptors.check(d);
                if (fixed == Descriptors.INVALID) {
                    return -EINVAL;
                }
                if (fixed != d) {
                    MachineFrames.write64(machine, base + 8L * i, fixed);
                }
            }
            return 0;
        }
        int slots = t == L3 ? 4 : 512;
        if (t == L3) {
            for (int i = 4; i < 512; i++) {
                if (MachineFrames.read64(machine, base + 8L * i) != 0) {
                    return -EINVAL; // a PDPT page holds 4 entries; the rest must be clear
                }
            }
        }
        for (int i = 0; i < slots; i++) {
            long e = MachineFrames.read64(machine, base + 8L * i);
            int rc = switch (t) {
                case L1 -> getL1e(e);
                case L2 -> getL2e(e);
                default -> getL3e(e, i);
            };
            if (rc != 0) {
                for (int j = 0; j < i; j++) {
                    long u = MachineFrames.read64(machine, base + 8L * j);
                    switch (t) {
                        case L1 -> putL1e(u);
                        case L2 -> putL2e(u);
                        default -> putL3e(u);
                    }
                }
                return rc;
            }
        }
        return 0;
    }

    // ---------------------------------------------------------------- guest operations

    /** MMU_NORMAL_PT_UPDATE: writes {@code val} into the entry at machine address {@code ptr}. */
    public int updateEntry(long ptr, long val) {
        if ((ptr & 7) != 0) {
            return -EINVAL;
        }
        int mfn = (int) (ptr >>> 12);
        if (ptr < 0 || ptr >>> 12 > Integer.MAX_VALUE || !owns(mfn)) {
            return -EPERM;
        }
        int t = typeOf(mfn);
        int slot = (int) ((ptr & 0xfff) >>> 3);
        long old = MachineFrames.read64(machine, ptr);
        int rc;
        switch (t) {
            case NONE -> {
                // Not a page table: an ordinary write, allowed only where the guest could write anyway.
                MachineFrames.write64(machine, ptr, val);
                return 0;
            }
            case L1 -> {
                rc = getL1e(val);
                if (rc == 0) {
                    MachineFrames.write64(machine, ptr, val);
                    putL1e(old);
                }
            }
            case L2 -> {
                if (xenL2[mfn] && slot >= XEN_L2_FIRST_SLOT) {
                    return -EPERM;
                }
                if (entryMfn(val) == mfn && (val & P) != 0) {
                    return -EINVAL;
                }
                rc = getL2e(val);
                if (rc == 0) {
                    MachineFrames.write64(machine, ptr, val);
                    putL2e(old);
                }
            }
            case L3 -> {
                if (slot >= 4) {
                    return -EINVAL;
                }
                rc = getL3e(val, slot);
                if (rc == 0) {
                    MachineFrames.write64(machine, ptr, val);
                    putL3e(old);
                }
            }
            default -> rc = -EPERM;
        }
        return rc;
    }

    /**
     * Writable page tables (VMASST_TYPE_writable_pagetables; Xen's {@code ptwr_emulated_update}): the
     * new values of {@code n} entries of the L1 table {@code l1} that one guest instruction stored,
     * each validated exactly as MMU_NORMAL_PT_UPDATE validates an L1 entry, applied all or nothing.
     * {@code upperHalfFixup[k]}: that entry got only a plain 4-byte store into its upper half; as
     * Xen does, a present entry that cannot be taken then has P cleared (the guest is assumed to
     * write the halves of a PAE entry the wrong way round, the lower half following).
     * Only L1 tables: Xen emulates no writes to L2/L3 ("page-directory entries cannot be written").
     *
     * @return the number of present entries replaced (the caller flushes TLBs when that is not 0),
     *         or a negative errno with nothing changed
     */
    public int emulatedL1Write(int l1, int n, int[] slots, long[] values, boolean[] upperHalfFixup) {
        if (!owns(l1) || typeOf(l1) != L1 || typeRefs[l1] == 0) {
            return -EINVAL;
        }
        long base = (long) l1 << 12;
        for (int k = 0; k < n; k++) {
            if (slots[k] < 0 || slots[k] >= 512) {
                for (int j = 0; j < k; j++) {
                    putL1e(values[j]);
                }
                return -EINVAL;
            }
            int rc = getL1e(values[k]);
            if (rc != 0 && upperHalfFixup[k] && (values[k] & P) != 0) {
                values[k] &= ~P; // not present: takes no reference, cannot fail
                rc = 0;
            }
            if (rc != 0) {
                for (int j = 0; j < k; j++) {
                    putL1e(values[j]);
                }
                return rc;
            }
        }
        int replaced = 0;
        for (int k = 0; k < n; k++) {
            long at = base + 8L * slots[k];
            long old = MachineFrames.read64(machine, at);
            MachineFrames.write64(machine, at, values[k]);
            putL1e(old);
            if ((old & P) != 0) {
                replaced++;
            }
        }
        return replaced;
    }

    /** Present mappings of {@code mfn} counted by validated L1 entries (tests: recount after a fuzz run). */
    public int mappings(int mfn) {
        return mfn >= 0 && mfn < mapRefs.length ? mapRefs[mfn] : 0;
    }

    /** MMUEXT_PIN_Lx_TABLE. */
    public int pin(int mfn, int level) {
        if (!owns(mfn)) {
            return -EPERM;
        }
        ensure(mfn);
        if (pinned[mfn]) {
            return -EINVAL;
        }
        int rc = getType(mfn, level);
        if (rc == 0) {
            pinned[mfn] = true;
        }
        return rc;
    }

    /** MMUEXT_UNPIN_TABLE. */
    public int unpin(int mfn) {
        if (!owns(mfn) || mfn >= pinned.length || !pinned[mfn]) {
            return -EINVAL;
        }
        pinned[mfn] = false;
        putType(mfn);
        return 0;
    }

    /**
     * HYPERVISOR_update_descriptor: writes one descriptor at machine address {@code ma} of a
     * descriptor frame, or of a frame nobody maps writable (as Xen takes the type for the write).
     */
    public int updateDescriptor(long ma, long desc) {
        if ((ma & 7) != 0 || ma < 0 || ma >>> 12 > Integer.MAX_VALUE) {
            return -EINVAL;
        }
        int mfn = (int) (ma >>> 12);
        if (!owns(mfn)) {
            return -EPERM;
        }
        int t = typeOf(mfn);
        if (!(t == DESC || t == NONE && writableMappings(mfn) == 0)) {
            return -EINVAL;
        }
        long fixed = Descriptors.check(desc);
        if (fixed == Descriptors.INVALID) {
            return -EINVAL;
        }
        MachineFrames.write64(machine, ma, fixed);
        return 0;
    }

    /** Installs a grant mapping PTE (hypervisor-made, not reference counted); the L1 must be a validated L1. */
    public int writeForeignL1e(long ptr, long val) {
        int mfn = (int) (ptr >>> 12);
        if (!owns(mfn) || typeOf(mfn) != L1) {
            return -EINVAL;
        }
        if ((MachineFrames.read64(machine, ptr) & P) != 0) {
            return -EBUSY;
        }
        MachineFrames.write64(machine, ptr, val);
        return 0;
    }

    /** Clears a hypervisor-made PTE if it still maps {@code mfnExpected}; returns whether it did. */
    public boolean clearForeignL1e(long ptr, int mfnExpected) {
        int mfn = (int) (ptr >>> 12);
        if (!owns(mfn) || typeOf(mfn) != L1) {
            return false;
        }
        long e = MachineFrames.read64(machine, ptr);
        if ((e & P) == 0 || entryMfn(e) != mfnExpected) {
            return false;
        }
        MachineFrames.write64(machine, ptr, 0);
        return true;
    }
}
