package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.MmioRange;
import org.xenj.hypervisor.internal.mem.DirtyLog;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.mem.PageWalker;
import org.xenj.hypervisor.internal.mem.SharedCode;

/**
 * Linear memory: the software TLB, the page walker (2-level, PSE, PAE, PGE, accessed/dirty) and
 * guest-physical access (RAM through the domain's p2m, everything else as MMIO).
 *
 * <p>The TLB is direct-mapped and kept as primitive arrays indexed by virtual page number. There
 * are two sets, one for supervisor (CPL 0-2) and one for user (CPL 3) accesses, each with a read
 * tag and a write tag per slot; a tag is the page's linear base address when that access is
 * allowed without a walk (for writes: writable and already dirty), else -1. The data of a slot is
 * the host chunk and an offset so that {@code chunk[off + linear]} is the byte.
 *
 * <p>A slot can instead hold an MMIO page: MMIO tags (same rules) and the device range covering
 * the page with the page's offset in it, so a repeated device access costs a tag check, a
 * liveness check of the range and one call, with no page walk and no range scan.
 *
 * <p>Log-dirty mode ({@link DirtyLog}): while a domain logs, a write tag is filled only by a write,
 * after the page's frame is marked; {@link #syncWriteCache} drops every write tag when the log's
 * epoch moves on (a migration round took the marks). Steady-state stores stay on the fast path.
 */
abstract class CpuMmu extends CpuTlb {

    /** Set by {@link #mmioHit} and {@link #fill}: the range and offset of the MMIO access at hand (null: none cached). */
    private MmioRange mmioRange;
    private long mmioOffset;

    /** Result of the last walk. */
    private boolean walkWritable;
    private boolean walkGlobal;
    private boolean walkExecutable;
    /** The shared IA-32 page walk over this vCPU's guest-physical memory (A/D bits set as it goes). */
    private final PageWalker walker = new PageWalker(new PageWalker.TableMemory() {
        @Override
        public long readEntry(long address, boolean wide) {
            return wide ? physRead64(address) : physRead32(address) & 0xffffffffL;
        }

        @Override
        public void writeEntryLow(long address, int value) {
            physWrite32(address, value);
        }
    }, PageWalker.Options.CPU);
    /** Physical address of the last access that missed RAM (MMIO). */
    long mmioPhys;

    /**
     * Linear page whose data accesses go to {@link #capture} while one instruction is re-executed for
     * PV page-table write emulation ({@link Cpu#emulateCapturingStores}); 1 = none (never a page
     * base). Checked only on the slow paths: the page is mapped read-only, so its stores never hit
     * the TLB's write tags, and its read tag is dropped when the capture starts.
     */
    int capturePage = 1;
    StoreCapture capture;

    private boolean touchesCapture(int lin, int size) {
        return (lin & PAGE_MASK) == capturePage || ((lin + size - 1) & PAGE_MASK) == capturePage;
    }

    /** A store into the captured page: kept aside, or refused (unwinds the instruction). */
    private void captureStore(int lin, int size, long v) {
        StoreCapture c = capture;
        if (!c.acceptable(lin, size)) {
            c.refused = true;
            throw fault(PFV, 0);
        }
        c.store(lin, size, v);
    }

    CpuMmu(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    // ------------------------------------------------------------------ page walk

    private static boolean paging(int cr0) {
        return cr0 < 0; // CR0.PG is bit 31
    }

    /**
     * Translates a linear address for an access, setting accessed/dirty bits, or raises #PF.
     * {@code user} is the privilege of the access (CPL 3 and not an implicit supervisor access).
     */
    final long translate(int lin, boolean write, boolean user) {
        return translate(lin, write, user, false);
    }

    /** {@link #translate} for an instruction fetch when {@code fetch}: execute rights are checked too. */
    private long translate(int lin, boolean write, boolean user, boolean fetch) {
        if (!paging(cr0)) {
            walkWritable = true;
            walkGlobal = false;
            walkExecutable = true;
            return lin & 0xffffffffL;
        }
        PageWalker w = walker;
        boolean pae = (cr4 & CR4_PAE) != 0, pse = (cr4 & CR4_PSE) != 0, wp = (cr0 & CR0_WP) != 0;
        long cr3l = cr3 & 0xffffffffL;
        long pa = fetch ? w.walkFetch(cr3l, pae, pse, wp, lin, user) : w.walk(cr3l, pae, pse, wp, lin, write, user);
        if (pa == PageWalker.FAULT) {
            throw pageFault(lin, write, user, w.faultCode);
        }
        walkWritable = w.writable;
        walkGlobal = w.global;
        walkExecutable = w.executable;
        return pa;
    }

    /** EFER.NXE changed: PAE entries' bit 63 becomes XD (or reserved again); cached rights are dropped. */
    final void setNoExecuteEnabled(boolean nxe) {
        if (walker.nxe != nxe) {
            walker.nxe = nxe;
            flushTlb(true);
        }
    }

    private CpuFault pageFault(int lin, boolean write, boolean user, int bits) {
        cr2 = lin;
        return fault(PFV, bits | (write ? PF_W : 0) | (user ? PF_U : 0));
    }

    // ------------------------------------------------------------------ TLB fill

    /**
     * Walks and caches {@code lin}'s page in the given set; returns the slot, or -1 for MMIO
     * ({@link #mmioPhys}; {@link #mmioRange}/{@link #mmioOffset} when a device range covers the
     * page, which is then cached in the slot's MMIO tags).
     */
    private int fill(int lin, boolean write, boolean user) {
        return fill(lin, write, user, false);
    }

    private int fill(int lin, boolean write, boolean user, boolean fetch) {
        long pa = translate(lin, write, user, fetch);
        int mfn = memory.mfn(pa >>> 12);
        int i = (lin >>> 12) & TLB_MASK;
        int page = lin & PAGE_MASK;
        if (mfn == DomainMemory.INVALID_MFN) {
            mmioPhys = pa;
            MmioRange r = env.mmioRange(pa);
            if (r != null && !(r.live() && r.coversPage(pa & ~0xfffL))) {
                r = null; // only a range spanning the whole page can stand for it
            }
            mmioRange = r;
            if (r != null) {
                long pageOffset = (pa & ~0xfffL) - r.base;
                mmioOffset = pageOffset + (lin & 0xfff);
                // one kind of entry per slot, so that the slot's global bit is its entry's
                if (user) {
                    uTagR[i] = uTagW[i] = -1;
                    uMmioTagR[i] = page;
                    uMmioTagW[i] = walkWritable ? page : -1;
                    uMmio[i] = r;
                    uMmioOff[i] = pageOffset;
                    uGlobal[i] = walkGlobal;
                } else {
                    kTagR[i] = kTagW[i] = -1;
                    kMmioTagR[i] = page;
                    kMmioTagW[i] = walkWritable ? page : -1;
                    kMmio[i] = r;
                    kMmioOff[i] = pageOffset;
                    kGlobal[i] = walkGlobal;
                }
            }
            return -1;
        }
        boolean romPage = pa < 0x100000 && memory.cpuWriteProtected(pa >>> 12);
        if (romPage && write) {
            // write-protected shadow RAM: the store goes to the unclaimed bus and is dropped
            mmioPhys = pa;
            mmioRange = null;
            return -1;
        }
        // copy-on-write: a shared frame is never cached writable; the store that reaches here unshares it
        boolean shared = machine.owner(mfn) == MachineMemory.SHARED;
        if (shared && write) {
            mfn = unshareFrame(pa >>> 12, mfn);
            shared = false;
        }
        // a watched code page (see watchedPages) keeps its write tag dropped, whatever refills it
        boolean watched = isWatched(page);
        if (write && watched) {
            breakEpoch(); // a store into a page blocks ran from in this epoch
        }
        int writeTag = walkWritable && !romPage && !watched && !shared ? page : -1;
        SharedCode sc = sharedCode;
        if (sc != null && sc.marked(mfn)) {
            // another vCPU (or this one) runs code from this frame: no write tag, and a store is counted
            writeTag = -1;
            if (write && walkWritable && !romPage) {
                sc.unmark(mfn);
                pendingCodeWrite = true;
            }
        }
        if (machine.dirtyLog().on()) {
            if (write) {
                machine.markDirty(mfn); // before the tag: stores through it need no mark
            } else {
                writeTag = -1; // the first store comes back here to mark the page
            }
        }
        if (user) {
            uMmioTagR[i] = uMmioTagW[i] = -1;
            uTagR[i] = page;
            uTagW[i] = writeTag;
            uNoExec[i] = !walkExecutable;
            uMem[i] = machine.chunk(mfn);
            uMfn[i] = mfn;
            uOff[i] = MachineMemory.offset(mfn) - page;
            uGlobal[i] = walkGlobal;
        } else {
            kMmioTagR[i] = kMmioTagW[i] = -1;
            kTagR[i] = page;
            kTagW[i] = writeTag;
            kNoExec[i] = !walkExecutable;
            kMem[i] = machine.chunk(mfn);
            kMfn[i] = mfn;
            kOff[i] = MachineMemory.offset(mfn) - page;
            kGlobal[i] = walkGlobal;
        }
        return i;
    }

    /**
     * Whether {@code lin}'s page is a cached MMIO page allowing this access; sets {@link #mmioRange}
     * and {@link #mmioOffset}. A retired range (its device was unmapped or moved) empties the slot.
     */
    private boolean mmioHit(int lin, boolean write, boolean user) {
        int i = (lin >>> 12) & TLB_MASK;
        int[] tags = user ? (write ? uMmioTagW : uMmioTagR) : (write ? kMmioTagW : kMmioTagR);
        if (tags[i] != (lin & PAGE_MASK)) {
            return false;
        }
        MmioRange r = (user ? uMmio : kMmio)[i];
        if (!r.live()) {
            if (user) {
                uMmioTagR[i] = uMmioTagW[i] = -1;
            } else {
                kMmioTagR[i] = kMmioTagW[i] = -1;
            }
            return false;
        }
        mmioRange = r;
        mmioOffset = (user ? uMmioOff : kMmioOff)[i] + (lin & 0xfff);
        return true;
    }

    /** The MMIO read {@link #fill} just resolved: through the cached range, else by address. */
    private long mmioReadFilled(int size) {
        MmioRange r = mmioRange;
        return r != null ? env.mmioRead(r, mmioOffset, size) : env.mmioRead(mmioPhys, size);
    }

    /**
     * A device register read through the cached range, then {@link #syncRemap}: a device that
     * unshared a frame for its DMA before it set the status read here must not have the guest read
     * the old copy of the buffer next (copy-on-write clones; the same order as before an interrupt).
     */
    private long mmioReadCached(int size) {
        return env.mmioRead(mmioRange, mmioOffset, size);
    }

    private void mmioWriteFilled(int size, long v) {
        MmioRange r = mmioRange;
        if (r != null) {
            env.mmioWrite(r, mmioOffset, size, v);
        } else {
            env.mmioWrite(mmioPhys, size, v);
        }
    }

    // ------------------------------------------------------------------ linear access, current privilege

    final int read8(int lin) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagR[i] == (lin & PAGE_MASK)) {
            return tMem[i][tOff[i] + lin] & 0xff;
        }
        return read8Slow(lin, userMode);
    }

    final int read16(int lin) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagR[i] == ((lin + 1) & PAGE_MASK)) {
            return (short) LE16.get(tMem[i], tOff[i] + lin) & 0xffff;
        }
        return read16Slow(lin, userMode);
    }

    final int read32(int lin) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagR[i] == ((lin + 3) & PAGE_MASK)) {
            return (int) LE32.get(tMem[i], tOff[i] + lin);
        }
        return read32Slow(lin, userMode);
    }

    final void write8(int lin, int v) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagW[i] == (lin & PAGE_MASK)) {
            tMem[i][tOff[i] + lin] = (byte) v;
            return;
        }
        write8Slow(lin, v, userMode);
    }

    final void write16(int lin, int v) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagW[i] == ((lin + 1) & PAGE_MASK)) {
            LE16.set(tMem[i], tOff[i] + lin, (short) v);
            return;
        }
        write16Slow(lin, v, userMode);
    }

    final void write32(int lin, int v) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagW[i] == ((lin + 3) & PAGE_MASK)) {
            LE32.set(tMem[i], tOff[i] + lin, v);
            return;
        }
        write32Slow(lin, v, userMode);
    }

    /**
     * For the translator's lockstep check: makes {@code lin}'s page readable through the TLB (may
     * fault as a read would) and tells whether it is RAM. No device is accessed.
     */
    final boolean probeReadRam(int lin) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagR[i] == (lin & PAGE_MASK)) {
            return true;
        }
        return !mmioHit(lin, false, userMode) && fill(lin, false, userMode) >= 0;
    }

    /** Makes sure a write of {@code size} bytes at {@code lin} cannot fault (read-modify-write, multi-part stores). */
    final void checkWritable(int lin, int size) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagW[i] != ((lin + size - 1) & PAGE_MASK)) {
            checkWritableSlow(lin, size, userMode);
        }
    }

    final void checkWritableSlow(int lin, int size, boolean user) {
        if (touchesCapture(lin, size)) {
            if (!capture.acceptable(lin, size)) {
                capture.refused = true;
                throw fault(PFV, 0);
            }
            return;
        }
        if (((lin ^ (lin + size - 1)) & PAGE_MASK) != 0) {
            probeWrite(lin, user);
            probeWrite(lin + size - 1, user);
        } else {
            probeWrite(lin, user);
        }
    }

    private void probeWrite(int lin, boolean user) {
        int i = (lin >>> 12) & TLB_MASK;
        int[] tw = user ? uTagW : kTagW;
        if (tw[i] != (lin & PAGE_MASK) && !mmioHit(lin, true, user)) {
            fill(lin, true, user);
        }
    }

    private int read8Slow(int lin, boolean user) {
        if ((lin & PAGE_MASK) == capturePage) {
            return capture.load8(lin);
        }
        if (mmioHit(lin, false, user)) {
            return (int) mmioReadCached(1) & 0xff;
        }
        int i = fill(lin, false, user);
        if (i < 0) {
            return (int) mmioReadFilled(1) & 0xff;
        }
        return (user ? uMem : kMem)[i][(user ? uOff : kOff)[i] + lin] & 0xff;
    }

    /**
     * One byte of an access that crosses a page boundary: through the TLB when it holds the page,
     * else the slow path. (Each byte used to take the slow path, i.e. a page walk: crossing 32-bit
     * reads were 8 % of the vCPU thread's samples in a Linux boot with the translator.) The capture
     * page and MMIO pages never have a RAM tag, so they still reach the slow path.
     */
    private int crossingRead8(int lin, boolean user) {
        int i = (lin >>> 12) & TLB_MASK;
        if ((user ? uTagR : kTagR)[i] == (lin & PAGE_MASK)) {
            return (user ? uMem : kMem)[i][(user ? uOff : kOff)[i] + lin] & 0xff;
        }
        return read8Slow(lin, user);
    }

    /** {@link #crossingRead8} for a store (after the whole access was checked writable); watched code pages have no write tag. */
    private void crossingWrite8(int lin, int v, boolean user) {
        int i = (lin >>> 12) & TLB_MASK;
        if ((user ? uTagW : kTagW)[i] == (lin & PAGE_MASK)) {
            (user ? uMem : kMem)[i][(user ? uOff : kOff)[i] + lin] = (byte) v;
            return;
        }
        write8Slow(lin, v, user);
    }

    private int read16Slow(int lin, boolean user) {
        if ((lin & 0xfff) == 0xfff) {
            return crossingRead8(lin, user) | crossingRead8(lin + 1, user) << 8;
        }
        if ((lin & PAGE_MASK) == capturePage) {
            return capture.load8(lin) | capture.load8(lin + 1) << 8;
        }
        if (mmioHit(lin, false, user)) {
            return (int) mmioReadCached(2) & 0xffff;
        }
        int i = fill(lin, false, user);
        if (i < 0) {
            return (int) mmioReadFilled(2) & 0xffff;
        }
        return (short) LE16.get((user ? uMem : kMem)[i], (user ? uOff : kOff)[i] + lin) & 0xffff;
    }

    private int read32Slow(int lin, boolean user) {
        if ((lin & 0xfff) > 0xffc) {
            int v = 0;
            for (int k = 0; k < 4; k++) {
                v |= crossingRead8(lin + k, user) << (8 * k);
            }
            return v;
        }
        if ((lin & PAGE_MASK) == capturePage) {
            return capture.load8(lin) | capture.load8(lin + 1) << 8 | capture.load8(lin + 2) << 16 | capture.load8(lin + 3) << 24;
        }
        if (mmioHit(lin, false, user)) {
            return (int) mmioReadCached(4);
        }
        int i = fill(lin, false, user);
        if (i < 0) {
            return (int) mmioReadFilled(4);
        }
        return (int) LE32.get((user ? uMem : kMem)[i], (user ? uOff : kOff)[i] + lin);
    }

    private void write8Slow(int lin, int v, boolean user) {
        if ((lin & PAGE_MASK) == capturePage) {
            captureStore(lin, 1, v & 0xff);
            return;
        }
        if (mmioHit(lin, true, user)) {
            env.mmioWrite(mmioRange, mmioOffset, 1, v & 0xff);
            return;
        }
        int i = fill(lin, true, user);
        if (i < 0) {
            mmioWriteFilled(1, v & 0xff);
            return;
        }
        (user ? uMem : kMem)[i][(user ? uOff : kOff)[i] + lin] = (byte) v;
        if (pendingCodeWrite) {
            countCodeWrite();
        }
    }

    private void write16Slow(int lin, int v, boolean user) {
        if (touchesCapture(lin, 2)) {
            captureStore(lin, 2, v & 0xffff);
            return;
        }
        if ((lin & 0xfff) == 0xfff) {
            checkWritableSlow(lin, 2, user);
            crossingWrite8(lin, v, user);
            crossingWrite8(lin + 1, v >>> 8, user);
            return;
        }
        if (mmioHit(lin, true, user)) {
            env.mmioWrite(mmioRange, mmioOffset, 2, v & 0xffff);
            return;
        }
        int i = fill(lin, true, user);
        if (i < 0) {
            mmioWriteFilled(2, v & 0xffff);
            return;
        }
        LE16.set((user ? uMem : kMem)[i], (user ? uOff : kOff)[i] + lin, (short) v);
        if (pendingCodeWrite) {
            countCodeWrite();
        }
    }

    private void write32Slow(int lin, int v, boolean user) {
        if (touchesCapture(lin, 4)) {
            captureStore(lin, 4, v & 0xffffffffL);
            return;
        }
        if ((lin & 0xfff) > 0xffc) {
            checkWritableSlow(lin, 4, user);
            for (int k = 0; k < 4; k++) {
                crossingWrite8(lin + k, v >>> (8 * k), user);
            }
            return;
        }
        if (mmioHit(lin, true, user)) {
            env.mmioWrite(mmioRange, mmioOffset, 4, v & 0xffffffffL);
            return;
        }
        int i = fill(lin, true, user);
        if (i < 0) {
            mmioWriteFilled(4, v & 0xffffffffL);
            return;
        }
        LE32.set((user ? uMem : kMem)[i], (user ? uOff : kOff)[i] + lin, v);
        if (pendingCodeWrite) {
            countCodeWrite();
        }
    }

    // ------------------------------------------------------------------ implicit supervisor accesses (GDT, IDT, TSS)

    final int sysRead8(int lin) {
        int i = (lin >>> 12) & TLB_MASK;
        if (kTagR[i] == (lin & PAGE_MASK)) {
            return kMem[i][kOff[i] + lin] & 0xff;
        }
        return read8Slow(lin, false);
    }

    final int sysRead16(int lin) {
        int i = (lin >>> 12) & TLB_MASK;
        if (kTagR[i] == ((lin + 1) & PAGE_MASK)) {
            return (short) LE16.get(kMem[i], kOff[i] + lin) & 0xffff;
        }
        return read16Slow(lin, false);
    }

    final int sysRead32(int lin) {
        int i = (lin >>> 12) & TLB_MASK;
        if (kTagR[i] == ((lin + 3) & PAGE_MASK)) {
            return (int) LE32.get(kMem[i], kOff[i] + lin);
        }
        return read32Slow(lin, false);
    }

    final void sysWrite8(int lin, int v) {
        write8Slow(lin, v, false);
    }

    final void sysWrite16(int lin, int v) {
        write16Slow(lin, v, false);
    }

    final void sysWrite32(int lin, int v) {
        int i = (lin >>> 12) & TLB_MASK;
        if (kTagW[i] == ((lin + 3) & PAGE_MASK)) {
            LE32.set(kMem[i], kOff[i] + lin, v);
            return;
        }
        write32Slow(lin, v, false);
    }

    /** Reads/writes with an explicit privilege (stack frames built for another privilege level). */
    final int readAs32(int lin, boolean user) {
        return user == userMode ? read32(lin) : read32Slow(lin, user);
    }

    final int readAs16(int lin, boolean user) {
        return user == userMode ? read16(lin) : read16Slow(lin, user);
    }

    final void writeAs32(int lin, int v, boolean user) {
        if (user == userMode) {
            write32(lin, v);
        } else {
            write32Slow(lin, v, user);
        }
    }

    final void writeAs16(int lin, int v, boolean user) {
        if (user == userMode) {
            write16(lin, v);
        } else {
            write16Slow(lin, v, user);
        }
    }

    /** Chunk of the last successful {@link #resolve}. */
    byte[] resolvedMem;

    /**
     * Translates {@code lin} for a bulk access at the current privilege and returns the index of its
     * byte in {@link #resolvedMem}, or -1 when the page is not RAM. May fault (#PF).
     */
    final int resolve(int lin, boolean write) {
        int i = (lin >>> 12) & TLB_MASK;
        int[] tags = write ? tagW : tagR;
        if (tags[i] != (lin & PAGE_MASK)) {
            if ((lin & PAGE_MASK) == capturePage) {
                return -1; // element by element, through the capture
            }
            i = fill(lin, write, userMode);
            if (i < 0) {
                return -1;
            }
        }
        resolvedMem = tMem[i];
        return tOff[i] + lin;
    }

    // ------------------------------------------------------------------ code fetch support

    /** Result of {@link #codePage}: the chunk, and the offset so that {@code chunk[off + linear]} is the byte. */
    byte[] codeChunk;
    int codeOff;
    int codeMfn;

    /** Translates an instruction fetch; returns false for non-RAM code (fetch byte by byte through MMIO). */
    final boolean codePage(int lin) {
        int i = (lin >>> 12) & TLB_MASK;
        if (tagR[i] != (lin & PAGE_MASK) || tNoExec[i]) {
            i = fill(lin, false, userMode, true);
            if (i < 0) {
                return false;
            }
        }
        codeChunk = tMem[i];
        codeOff = tOff[i];
        codeMfn = tMfn[i];
        return true;
    }

    // ------------------------------------------------------------------ guest-physical access

    final int physRead32(long pa) {
        int mfn = memory.mfn(pa >>> 12);
        if (mfn == DomainMemory.INVALID_MFN || (pa & 0xfff) > 0xffc) {
            return mfn == DomainMemory.INVALID_MFN ? (int) env.mmioRead(pa, 4) : memory.read32(pa);
        }
        return (int) LE32.get(machine.chunk(mfn), MachineMemory.offset(mfn) + (int) (pa & 0xfff));
    }

    final long physRead64(long pa) {
        return (physRead32(pa) & 0xffffffffL) | ((long) physRead32(pa + 4) << 32);
    }

    /**
     * The page walker's accessed/dirty-bit store. It is this vCPU's own store, so it is not counted
     * as another writer's ({@code MachineMemory.wroteRam}, which started a new validation epoch at
     * the next slice for every A/D update: page tables are not code); only a store into the frame
     * of a code page watched in this epoch breaks the block ({@link #wroteFrame}). Logged as dirty
     * like every store.
     */
    final void physWrite32(long pa, int v) {
        int mfn = memory.mfn(pa >>> 12);
        if (mfn == DomainMemory.INVALID_MFN) {
            env.mmioWrite(pa, 4, v & 0xffffffffL);
            return;
        }
        int in = (int) (pa & 0xfff);
        if (in > 0xffc) {
            memory.write32(pa, v); // never for an aligned entry; the counted path splits it
            return;
        }
        if (machine.owner(mfn) == MachineMemory.SHARED) {
            mfn = unshareFrame(pa >>> 12, mfn); // a page table in a shared frame: its A/D bits are this domain's store
        }
        machine.markDirty(mfn);
        byte[] chunk = machine.chunk(mfn);
        int frameIdx = MachineMemory.offset(mfn);
        SharedCode sc = sharedCode;
        boolean code = sc != null && sc.marked(mfn);
        if (code) {
            sc.unmark(mfn);
        }
        LE32.set(chunk, frameIdx + in, v);
        if (code) {
            countCodeWrite(); // a page table another vCPU ran code from (a guest may)
        }
        tableWrites++;
        wroteFrame(chunk, frameIdx);
    }

    /**
     * This vCPU's store into shared frame {@code old} behind guest frame {@code gfn}: drops its own
     * translations of it (aliases too), then gives the gfn a frame of its own ({@link
     * DomainMemory#unshare}; the other vCPUs drop theirs before their next block). Returns it.
     */
    private int unshareFrame(long gfn, int old) {
        dropFrame(old);
        if (codeMfn == old) {
            flushFetch(); // it runs code from the frame it writes: the next fetch must read the new copy
        }
        int nu = memory.unshare(gfn, this);
        memory.awaitOthersRemapped(this); // the other vCPUs read the new frame before this store lands in it
        return nu;
    }

    /** Statistics: accessed/dirty-bit stores of the page walker (not counted as other writers'). */
    long tableWrites;
}
