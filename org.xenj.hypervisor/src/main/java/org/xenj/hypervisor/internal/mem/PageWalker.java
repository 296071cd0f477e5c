package org.xenj.hypervisor.internal.mem;

/**
 * The IA-32 page walk (2-level with optional 4 MiB PSE pages, or PAE with 2 MiB pages), one
 * implementation for every reader of guest page tables: the vCPU's TLB fill, the HVM hypercall
 * view of a guest's linear addresses, and the PV view walking machine frames. What differs between
 * them is only where tables live ({@link TableMemory}) and a few {@link Options}; the rules about
 * present, reserved, user and write bits are written once here.
 *
 * <p>No-execute: with EFER.NXE ({@link #nxe}) PAE entries' bit 63 is XD, checked by
 * {@link #walkFetch} and reported as {@link #executable} so a TLB can refuse fetches it caches.
 *
 * <p>One walker belongs to one reader and is reused: results are left in fields (the CPU walks on
 * every TLB miss and must not allocate). Not thread-safe.
 */
public final class PageWalker {

    /** Where page tables are read, and where accessed/dirty bits are written back. */
    public interface TableMemory {
        /** The entry at table address {@code address}: 8 bytes if {@code wide}, else 4 (zero-extended). */
        long readEntry(long address, boolean wide);

        /** Writes the low 32 bits of an entry (accessed/dirty updates never touch the high half). */
        void writeEntryLow(long address, int value);
    }

    /** Walk options fixed per reader. */
    public enum Options {
        /** The vCPU: reserved bits fault, accessed/dirty bits are set as the walk goes. */
        CPU(true, true, true),
        /** Xen's view of an HVM guest's linear addresses: the CPU's rules, as Xen's own guest walk sets A/D too. */
        HVM_HYPERCALL(true, true, true),
        /** A PV guest's tables, validated by the hypervisor when pinned: no superpages, no A/D writes, NX ignored. */
        PV(false, false, false);

        final boolean checkReserved;
        final boolean setAccessedDirty;
        final boolean largePages;

        Options(boolean checkReserved, boolean setAccessedDirty, boolean largePages) {
            this.checkReserved = checkReserved;
            this.setAccessedDirty = setAccessedDirty;
            this.largePages = largePages;
        }
    }

    /** #PF error code bits the walk can report (W and U are the caller's: it knows the access). */
    public static final int PF_P = 1, PF_RSVD = 8, PF_ID = 0x10;
    /** {@link #walk} result when the walk faults; {@link #faultCode} says why. */
    public static final long FAULT = -1;

    private static final int P = 1, RW = 2, US = 4, ACCESSED = 0x20, DIRTY = 0x40, PS = 0x80, G = 0x100;
    /** Bits 36..63 of a PAE entry are reserved (a 36-bit physical space); bit 63 is XD instead when NXE is set. */
    private static final long PAE_RSVD = 0xffff_fff0_0000_0000L;
    /** The execute-disable bit of PAE directory and table entries (not PDPTEs), meaningful when EFER.NXE is set. */
    private static final long XD = 1L << 63;
    private static final long PAE_ADDR = 0x0000_000f_ffff_f000L;
    private static final long PAE_PDPTE_RSVD = PAE_RSVD | 0x1e6;
    private static final long PAE_LARGE_RSVD = 0x1f_e000L;
    /** What a PV entry's frame field may hold (Xen's 32-bit PAE machine frames; bit 63 is NX, ignored). */
    private static final long PV_ADDR = 0x000f_ffff_ffff_f000L;

    private final TableMemory tables;
    private final Options options;

    /** After a successful walk: the leaf grants writes to this access's privilege. */
    public boolean writable;
    /** After a successful walk: the leaf is global (G). */
    public boolean global;
    /** After a successful walk: instructions may be fetched from the page (no XD on the way). */
    public boolean executable;
    /**
     * EFER.NXE of the walking vCPU: in PAE mode bit 63 of directory and table entries is then XD
     * (execute disable) instead of reserved, and fetch faults carry {@link #PF_ID}.
     */
    public boolean nxe;
    /** After a fault: the #PF error bits found ({@link #PF_P}, {@link #PF_RSVD}); 0 for not present. */
    public int faultCode;
    /** After a fault: the level that faulted (3 PDPTE, 2 PDE, 1 PTE). */
    public int faultLevel;
    /** The table address of the last entry read: the leaf, or the entry that faulted. */
    public long lastEntryAddress;

    public PageWalker(TableMemory tables, Options options) {
        this.tables = tables;
        this.options = options;
    }

    /**
     * Translates linear address {@code lin} for an access of the given kind. Returns the physical
     * address, or {@link #FAULT} with {@link #faultCode} set. {@code wp} is CR0.WP, {@code pse}
     * CR4.PSE, {@code pae} CR4.PAE; {@code cr3} the page-directory base register.
     */
    public long walk(long cr3, boolean pae, boolean pse, boolean wp, int lin, boolean write, boolean user) {
        return pae ? walkPae(cr3, wp, lin, write, user, false) : walk32(cr3, pse, wp, lin, write, user);
    }

    /**
     * {@link #walk} for an instruction fetch (a read that also needs execute rights). A fetch
     * through an XD entry is a protection fault; in PAE mode with NXE every fetch fault carries
     * {@link #PF_ID}, as on hardware.
     */
    public long walkFetch(long cr3, boolean pae, boolean pse, boolean wp, int lin, boolean user) {
        if (!pae) {
            return walk32(cr3, pse, wp, lin, false, user);
        }
        long pa = walkPae(cr3, wp, lin, false, user, true);
        if (pa == FAULT && nxe && options.checkReserved) {
            faultCode |= PF_ID;
        }
        return pa;
    }

    private long walk32(long cr3, boolean pse, boolean wp, int lin, boolean write, boolean user) {
        long pdeAddr = (cr3 & 0xffff_f000L) + ((lin >>> 22) << 2);
        int pde = (int) read(pdeAddr, false);
        if ((pde & P) == 0) {
            return fault(2, 0);
        }
        if ((pde & PS) != 0 && pse && options.largePages) {
            if (!allowed(pde, pde, write, user, wp)) {
                return fault(2, PF_P);
            }
            int upd = markUsed(pdeAddr, pde, write);
            leaf(pde, upd, pde, user, wp);
            return ((pde & 0xffc0_0000L) | (lin & 0x3f_ffff)) & 0xffff_ffffL;
        }
        long pteAddr = (pde & 0xffff_f000L) + (((lin >>> 12) & 0x3ff) << 2);
        int pte = (int) read(pteAddr, false);
        if ((pte & P) == 0) {
            return fault(1, 0);
        }
        if (!allowed(pde, pte, write, user, wp)) {
            return fault(1, PF_P);
        }
        markDirectoryAccessed(pdeAddr, pde);
        int upd = markUsed(pteAddr, pte, write);
        leaf(pde, upd, pte, user, wp);
        return (pte & 0xffff_f000L) | (lin & 0xfff);
    }

    private long walkPae(long cr3, boolean wp, int lin, boolean write, boolean user, boolean fetch) {
        long addrMask = options.checkReserved ? PAE_ADDR : PV_ADDR;
        boolean xdBit = nxe && options.checkReserved;
        long rsvd = xdBit ? PAE_RSVD & ~XD : PAE_RSVD;
        long pdpte = read((cr3 & 0xffff_ffe0L) + ((long) (lin >>> 30) << 3), true);
        if ((pdpte & P) == 0) {
            return fault(3, 0);
        }
        if (options.checkReserved && (pdpte & PAE_PDPTE_RSVD) != 0) {
            return fault(3, PF_RSVD | PF_P);
        }
        long pdeAddr = (pdpte & addrMask) + (((lin >>> 21) & 0x1ff) << 3);
        long pde = read(pdeAddr, true);
        if ((pde & P) == 0) {
            return fault(2, 0);
        }
        if (options.checkReserved && (pde & rsvd) != 0) {
            return fault(2, PF_RSVD | PF_P);
        }
        if ((pde & PS) != 0) {
            if (!options.largePages) {
                return fault(2, 0);
            }
            if (options.checkReserved && (pde & PAE_LARGE_RSVD) != 0) {
                return fault(2, PF_RSVD | PF_P);
            }
            if (!allowed((int) pde, (int) pde, write, user, wp) || fetch && xdBit && (pde & XD) != 0) {
                return fault(2, PF_P);
            }
            int upd = markUsed(pdeAddr, (int) pde, write);
            leaf((int) pde, upd, (int) pde, user, wp);
            executable = !xdBit || (pde & XD) == 0;
            return (pde & addrMask & ~0x1f_ffffL) | (lin & 0x1f_ffff);
        }
        long pteAddr = (pde & addrMask) + (((lin >>> 12) & 0x1ff) << 3);
        long pte = read(pteAddr, true);
        if ((pte & P) == 0) {
            return fault(1, 0);
        }
        if (options.checkReserved && (pte & rsvd) != 0) {
            return fault(1, PF_RSVD | PF_P);
        }
        if (!allowed((int) pde, (int) pte, write, user, wp) || fetch && xdBit && ((pde | pte) & XD) != 0) {
            return fault(1, PF_P);
        }
        markDirectoryAccessed(pdeAddr, (int) pde);
        int upd = markUsed(pteAddr, (int) pte, write);
        leaf((int) pde, upd, (int) pte, user, wp);
        executable = !xdBit || ((pde | pte) & XD) == 0;
        return (pte & addrMask) | (lin & 0xfff);
    }

    private long read(long address, boolean wide) {
        lastEntryAddress = address;
        return tables.readEntry(address, wide);
    }

    private long fault(int level, int code) {
        faultLevel = level;
        faultCode = code;
        return FAULT;
    }

    /** Rights of the combined directory and table entries for this access (user needs U at both; writes need RW unless a supervisor with CR0.WP=0). */
    private static boolean allowed(int pde, int pte, boolean write, boolean user, boolean wp) {
        if (user && (pde & pte & US) == 0) {
            return false;
        }
        return !write || writeAllowed(pde, pte, user, wp);
    }

    private static boolean writeAllowed(int pde, int pte, boolean user, boolean wp) {
        boolean w = (pde & pte & RW) != 0;
        if (user) {
            return w && (pde & pte & US) != 0;
        }
        return w || !wp;
    }

    private void markDirectoryAccessed(long pdeAddr, int pde) {
        if (options.setAccessedDirty && (pde & ACCESSED) == 0) {
            tables.writeEntryLow(pdeAddr, pde | ACCESSED);
        }
    }

    /** Sets A (and D for a write) on the leaf; returns the leaf as it now is. */
    private int markUsed(long address, int entry, boolean write) {
        if (!options.setAccessedDirty) {
            return entry;
        }
        int upd = entry | ACCESSED | (write ? DIRTY : 0);
        if (upd != entry) {
            tables.writeEntryLow(address, upd);
        }
        return upd;
    }

    /**
     * Records what a TLB may cache: writable without another walk only if already dirty (so the
     * first write still walks and sets D) — or, for readers that do not track D, if writable at all.
     */
    private void leaf(int pde, int updatedLeaf, int originalLeaf, boolean user, boolean wp) {
        executable = true; // 2-level paging has no XD; PAE callers narrow this after
        boolean dirty = !options.setAccessedDirty || (updatedLeaf & DIRTY) != 0;
        writable = writeAllowed(pde, originalLeaf, user, wp) && dirty;
        global = (originalLeaf & G) != 0;
    }
}
