package org.xenj.hypervisor.internal.mem;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

import org.xenj.hypervisor.spi.GuestMemory;

/**
 * One domain's guest-physical RAM: the p2m (guest frame -> machine frame) over frames the domain
 * owns in {@link MachineMemory}. A domain sees only its own frames: every access goes through its
 * p2m, and an unmapped guest frame is not RAM. Slow-path accessors for devices, loaders and
 * hypercalls; the CPU caches translations in its TLB instead.
 */
public final class DomainMemory implements GuestMemory {

    public static final int INVALID_MFN = -1;
    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final MachineMemory machine;
    private final int domid;
    /** gfn -> mfn, {@link #INVALID_MFN} where the domain has no RAM. Replaced, never resized in place. */
    private volatile int[] p2m;

    public DomainMemory(MachineMemory machine, int domid) {
        this.machine = machine;
        this.domid = domid;
        this.p2m = new int[0];
    }

    public MachineMemory machine() {
        return machine;
    }

    public int domid() {
        return domid;
    }

    /** vCPUs built over this memory (never decremented: an upper bound). */
    private final java.util.concurrent.atomic.AtomicInteger vcpus = new java.util.concurrent.atomic.AtomicInteger();

    private final LockedAccessGate lockedAccessGate = new LockedAccessGate();

    /** A vCPU is built over this memory; returns how many have been (so its 0-based index is one less). */
    public int attachVcpu() {
        int n = vcpus.incrementAndGet();
        lockedAccessGate.register(n - 1);
        return n;
    }

    /** The domain's split lock for locked instructions that are not one compare-and-set (see {@link LockedAccessGate}). */
    public LockedAccessGate lockedAccessGate() {
        return lockedAccessGate;
    }

    private volatile SharedCode sharedCode;

    /** The code its vCPUs share, for cross-modifying code between them (made when a second vCPU needs it). */
    public SharedCode sharedCode() {
        SharedCode s = sharedCode;
        if (s == null) {
            synchronized (vcpus) {
                s = sharedCode;
                if (s == null) {
                    s = new SharedCode(machine.totalFrames());
                    sharedCode = s;
                }
            }
        }
        return s;
    }

    private final java.util.concurrent.ConcurrentHashMap<Object, Object> vcpuShared = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * State the domain's vCPUs share that belongs to no one of them (the translator's code cache):
     * made by {@code make} on the first ask for {@code key}, the same object for every later one,
     * gone with the domain.
     */
    public <T> T vcpuShared(Object key, Class<T> type, java.util.function.Supplier<T> make) {
        return type.cast(vcpuShared.computeIfAbsent(key, k -> make.get()));
    }

    /** How many vCPUs have been built over this memory (one: its stores are the only CPU stores into it). */
    public int vcpusAttached() {
        return vcpus.get();
    }

    /** Allocates {@code frames} machine frames and maps them at guest frames {@code [firstGfn, firstGfn+frames)}. */
    public synchronized void populate(long firstGfn, int frames) {
        int[] mfns = machine.allocate(domid, frames);
        int end = Math.toIntExact(firstGfn + frames);
        int[] map = p2m.length >= end ? p2m.clone() : grow(p2m, end);
        for (int i = 0; i < frames; i++) {
            int gfn = (int) firstGfn + i;
            if (map[gfn] != INVALID_MFN) {
                machine.free(domid, mfns);
                throw new IllegalStateException("guest frame " + gfn + " is already populated");
            }
            map[gfn] = mfns[i];
        }
        p2m = map;
        machine.wroteRam(); // other frames behind guest addresses: cached code must be compared again
    }

    /**
     * PV memory plan: allocates {@code frames} machine frames and maps each at guest frame = machine
     * frame (identity), so that page tables holding machine addresses walk through this p2m.
     * Returns the machine frames in allocation order (the PV guest's pfn -> mfn list).
     */
    public synchronized int[] populateIdentity(int frames) {
        int[] mfns = machine.allocate(domid, frames);
        int end = 0;
        for (int m : mfns) {
            end = Math.max(end, m + 1);
        }
        int[] map = p2m.length >= end ? p2m.clone() : grow(p2m, end);
        for (int m : mfns) {
            if (map[m] != INVALID_MFN) {
                machine.free(domid, mfns);
                throw new IllegalStateException("guest frame " + m + " is already populated");
            }
            map[m] = m;
        }
        p2m = map;
        machine.wroteRam(); // other frames behind guest addresses: cached code must be compared again
        return mfns;
    }

    /**
     * PV memory plan for RAM the core already populated: remaps every populated frame at guest
     * frame = machine frame and returns the machine frames in their former guest-frame order (the
     * PV guest's pfn -> mfn list). Nothing is allocated or freed.
     */
    public synchronized int[] toIdentity() {
        int[] map = p2m;
        int n = 0;
        int end = 0;
        for (int m : map) {
            if (m != INVALID_MFN) {
                n++;
                end = Math.max(end, m + 1);
            }
        }
        int[] list = new int[n];
        int[] identity = new int[end];
        Arrays.fill(identity, INVALID_MFN);
        int i = 0;
        for (int m : map) {
            if (m != INVALID_MFN) {
                list[i++] = m;
                identity[m] = m;
            }
        }
        p2m = identity;
        machine.wroteRam(); // other frames behind guest addresses: cached code must be compared again
        return list;
    }

    /**
     * Maps an existing machine frame at {@code gfn} without allocating: a frame of another domain
     * granted to this one, or a special frame of this domain (shared_info placed by the guest).
     * Such a frame is never freed by {@link #release} or {@link #releaseAll} unless owned.
     */
    public synchronized void mapFrame(long gfn, int mfn) {
        int[] map = p2m;
        if (gfn >= 0 && gfn < map.length && map[(int) gfn] != INVALID_MFN) {
            throw new IllegalStateException("guest frame " + gfn + " is already populated");
        }
        int[] copy = gfn < map.length ? map.clone() : grow(map, Math.toIntExact(gfn + 1));
        copy[(int) gfn] = mfn;
        p2m = copy;
        machine.wroteRam(); // other frames behind guest addresses: cached code must be compared again
    }

    /**
     * Maps existing machine frames at guest frame = machine frame, in one p2m update (the
     * hypervisor's shared read-only pages in a PV domain). Frames already mapped there are skipped;
     * a gfn mapped to a different frame is an error and nothing changes.
     */
    public synchronized void mapFramesIdentity(int[] mfns) {
        int[] map = p2m;
        int end = map.length;
        for (int m : mfns) {
            end = Math.max(end, m + 1);
        }
        int[] copy = end > map.length ? grow(map, end) : map.clone();
        for (int m : mfns) {
            if (copy[m] != INVALID_MFN && copy[m] != m) {
                throw new IllegalStateException("guest frame " + m + " is already populated");
            }
            copy[m] = m;
        }
        p2m = copy;
        machine.wroteRam(); // other frames behind guest addresses: cached code must be compared again
    }

    /** Removes {@code gfn} from the p2m without freeing its frame; returns the frame or {@link #INVALID_MFN}. */
    public synchronized int unmapFrame(long gfn) {
        int[] map = p2m;
        if (gfn < 0 || gfn >= map.length || map[(int) gfn] == INVALID_MFN) {
            return INVALID_MFN;
        }
        int[] copy = map.clone();
        int mfn = copy[(int) gfn];
        copy[(int) gfn] = INVALID_MFN;
        p2m = copy;
        machine.wroteRam(); // other frames behind guest addresses: cached code must be compared again
        return mfn;
    }

    /** Unmaps and frees one guest frame (balloon down); returns false if it was not populated. */
    public synchronized boolean release(long gfn) {
        int[] map = p2m;
        if (gfn < 0 || gfn >= map.length || map[(int) gfn] == INVALID_MFN) {
            return false;
        }
        int[] copy = map.clone();
        int mfn = copy[(int) gfn];
        copy[(int) gfn] = INVALID_MFN;
        p2m = copy;
        machine.wroteRam(); // other frames behind guest addresses: cached code must be compared again
        if (machine.owner(mfn) == domid) {
            machine.free(domid, new int[] {mfn});
        }
        return true;
    }

    /** Whether this domain logs dirty frames (live migration). */
    private boolean logDirty;

    /**
     * Starts log-dirty mode: from now on every written frame of this domain is marked ({@link
     * DirtyLog}); earlier marks are cleared. The caller then flushes the vCPUs' write entries
     * ({@link DirtyLog#flushWriteCaches}) before it copies anything.
     */
    public synchronized void startLogDirty() {
        if (logDirty) {
            throw new IllegalStateException("domain " + domid + " already logs dirty frames");
        }
        takeDirty();
        logDirty = true;
        machine.dirtyLog().start();
    }

    /** Ends log-dirty mode (idempotent). */
    public synchronized void stopLogDirty() {
        if (logDirty) {
            logDirty = false;
            machine.dirtyLog().stop();
        }
    }

    public synchronized boolean logsDirty() {
        return logDirty;
    }

    /** The guest frames of this domain's own RAM written since the last take, and clears them. */
    public java.util.BitSet takeDirty() {
        int[] map = p2m;
        DirtyLog log = machine.dirtyLog();
        java.util.BitSet out = new java.util.BitSet(map.length);
        for (int gfn = 0; gfn < map.length; gfn++) {
            int m = map[gfn];
            if (m != INVALID_MFN && log.testAndClear(m) && machine.owner(m) == domid) {
                out.set(gfn);
            }
        }
        return out;
    }

    /** Whether guest frame {@code gfn} is marked, without clearing (tests). */
    public boolean isDirty(long gfn) {
        int m = mfn(gfn);
        return m != INVALID_MFN && machine.dirtyLog().test(m);
    }

    /** Returns every frame to the machine (domain destruction). */
    public synchronized void releaseAll() {
        stopLogDirty();
        int[] map = p2m;
        p2m = new int[0];
        machine.wroteRam(); // other frames behind guest addresses: cached code must be compared again
        // Foreign frames (grant mappings) are mapped, not owned: only owned frames go back.
        machine.free(domid, Arrays.stream(map).filter(m -> m != INVALID_MFN && machine.owner(m) == domid).distinct().toArray());
    }

    private static int[] grow(int[] map, int size) {
        int[] n = Arrays.copyOf(map, size);
        Arrays.fill(n, map.length, size, INVALID_MFN);
        return n;
    }

    /** Frames below 1 MiB the chipset may write-protect for the CPU (the PAM-controlled shadow RAM lies there). */
    public static final int LEGACY_FRAMES = 256;
    /** One bit per frame below 1 MiB: CPU stores there are dropped (i440FX PAM write enable clear). */
    private final java.util.concurrent.atomic.AtomicLongArray cpuWriteProtected = new java.util.concurrent.atomic.AtomicLongArray(LEGACY_FRAMES / 64);

    /**
     * Whether CPU stores to guest frame {@code gfn} are dropped: shadow RAM whose PAM write enable is
     * clear reads as RAM but ignores writes, as the i440FX forwards them to the (read-only) PCI side.
     * Device DMA and loaders are not affected. Only frames below 1 MiB can be protected.
     */
    public boolean cpuWriteProtected(long gfn) {
        return gfn >= 0 && gfn < LEGACY_FRAMES && (cpuWriteProtected.get((int) gfn >>> 6) & (1L << (gfn & 63))) != 0;
    }

    /** Sets or clears {@link #cpuWriteProtected} for {@code [firstGfn, firstGfn+frames)}; CPUs must flush their TLBs after. */
    public void setCpuWriteProtected(long firstGfn, int frames, boolean protect) {
        if (firstGfn < 0 || frames < 0 || firstGfn + frames > LEGACY_FRAMES) {
            throw new IllegalArgumentException("only frames below 1 MiB can be write-protected: 0x"
                    + Long.toHexString(firstGfn) + "+" + frames);
        }
        for (long g = firstGfn; g < firstGfn + frames; g++) {
            long bit = 1L << (g & 63);
            int w = (int) g >>> 6;
            long old;
            do {
                old = cpuWriteProtected.get(w);
            } while (!cpuWriteProtected.compareAndSet(w, old, protect ? old | bit : old & ~bit));
        }
    }

    /** Machine frame behind guest frame {@code gfn}, or {@link #INVALID_MFN}. */
    public int mfn(long gfn) {
        int[] map = p2m;
        return gfn >= 0 && gfn < map.length ? map[(int) gfn] : INVALID_MFN;
    }

    /** Number of guest frames addressable (populated or not). */
    public int gfnLimit() {
        return p2m.length;
    }

    /**
     * Frames of RAM the domain owns in its p2m. Frames mapped from elsewhere (grants, the
     * hypervisor's read-only M2P for PV guests) are not the domain's memory and are not counted.
     */
    public int populatedFrames() {
        int n = 0;
        for (int m : p2m) {
            if (m != INVALID_MFN && machine.owner(m) == domid) {
                n++;
            }
        }
        return n;
    }

    @Override
    public long size() {
        return (long) populatedFrames() << MachineMemory.PAGE_SHIFT;
    }

    @Override
    public boolean isRam(long gpa, int length) {
        if (gpa < 0 || length < 0) {
            return false;
        }
        for (long p = gpa >>> 12; p <= (gpa + Math.max(length, 1) - 1) >>> 12; p++) {
            if (mfn(p) == INVALID_MFN) {
                return false;
            }
        }
        return true;
    }

    private int mfnOrThrow(long gpa) {
        int mfn = mfn(gpa >>> MachineMemory.PAGE_SHIFT);
        if (mfn == INVALID_MFN) {
            throw new IndexOutOfBoundsException("guest-physical 0x" + Long.toHexString(gpa) + " is not RAM of domain " + domid);
        }
        return mfn;
    }

    @Override
    public void read(long gpa, byte[] dst, int off, int len) {
        while (len > 0) {
            int mfn = mfnOrThrow(gpa);
            int inPage = (int) (gpa & (MachineMemory.PAGE_SIZE - 1));
            int n = Math.min(len, MachineMemory.PAGE_SIZE - inPage);
            System.arraycopy(machine.chunk(mfn), MachineMemory.offset(mfn) + inPage, dst, off, n);
            gpa += n;
            off += n;
            len -= n;
        }
    }

    @Override
    public void write(long gpa, byte[] src, int off, int len) {
        while (len > 0) {
            int mfn = mfnOrThrow(gpa);
            int inPage = (int) (gpa & (MachineMemory.PAGE_SIZE - 1));
            int n = Math.min(len, MachineMemory.PAGE_SIZE - inPage);
            machine.markDirty(mfn);
            System.arraycopy(src, off, machine.chunk(mfn), MachineMemory.offset(mfn) + inPage, n);
            gpa += n;
            off += n;
            len -= n;
        }
        machine.wroteRam();
    }

    @Override
    public int read8(long gpa) {
        int mfn = mfnOrThrow(gpa);
        return machine.chunk(mfn)[MachineMemory.offset(mfn) + (int) (gpa & 0xfff)] & 0xff;
    }

    @Override
    public int read16(long gpa) {
        if ((gpa & 0xfff) > 0xffe) {
            return read8(gpa) | read8(gpa + 1) << 8;
        }
        int mfn = mfnOrThrow(gpa);
        return (short) LE16.get(machine.chunk(mfn), MachineMemory.offset(mfn) + (int) (gpa & 0xfff)) & 0xffff;
    }

    @Override
    public int read32(long gpa) {
        if ((gpa & 0xfff) > 0xffc) {
            return read16(gpa) | read16(gpa + 2) << 16;
        }
        int mfn = mfnOrThrow(gpa);
        return (int) LE32.get(machine.chunk(mfn), MachineMemory.offset(mfn) + (int) (gpa & 0xfff));
    }

    @Override
    public void write8(long gpa, int value) {
        int mfn = mfnOrThrow(gpa);
        machine.markDirty(mfn);
        machine.chunk(mfn)[MachineMemory.offset(mfn) + (int) (gpa & 0xfff)] = (byte) value;
        machine.wroteRam();
    }

    @Override
    public void write16(long gpa, int value) {
        if ((gpa & 0xfff) > 0xffe) {
            write8(gpa, value);
            write8(gpa + 1, value >>> 8);
            return;
        }
        int mfn = mfnOrThrow(gpa);
        machine.markDirty(mfn);
        LE16.set(machine.chunk(mfn), MachineMemory.offset(mfn) + (int) (gpa & 0xfff), (short) value);
        machine.wroteRam();
    }

    @Override
    public void write32(long gpa, int value) {
        if ((gpa & 0xfff) > 0xffc) {
            write16(gpa, value);
            write16(gpa + 2, value >>> 16);
            return;
        }
        int mfn = mfnOrThrow(gpa);
        machine.markDirty(mfn);
        LE32.set(machine.chunk(mfn), MachineMemory.offset(mfn) + (int) (gpa & 0xfff), value);
        machine.wroteRam();
    }
}
