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
        identityPlan = true;
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
        identityPlan = true;
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
        if (machine.owner(map[(int) gfn]) == MachineMemory.SHARED) {
            unshare(gfn, null); // the caller gets a frame of this domain (to free or map elsewhere), not a shared one
            map = p2m;
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
        } else if (machine.owner(mfn) == MachineMemory.SHARED) {
            deferUnref(mfn);
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
                // (a shared frame is never written: an unshare gives the gfn a new, marked frame)
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
        // Shared frames: this domain's references go (no vCPU of it runs any more); a frame is
        // free when its last sharer lets go.
        for (int m : map) {
            if (m != INVALID_MFN && machine.owner(m) == MachineMemory.SHARED) {
                machine.unref(m);
            }
        }
        for (int k = 0; k < pendingCount; k++) {
            machine.unref(pendingMfns[k]);
        }
        pendingCount = 0;
    }

    // ------------------------------------------------------------------ copy-on-write sharing (clones)

    /** Set by the PV memory plans (guest frame = machine frame): such a domain never shares or maps a shared frame. */
    private boolean identityPlan;

    /**
     * How long a vCPU that unshared a frame waits for the domain's other running vCPUs to drop
     * their translations ({@link #awaitOthersRemapped}). They do so at least every 1,024
     * instructions, so the bound is only met when one cannot get there: its host thread not
     * scheduled, or it waits for something this vCPU holds (a split lock).
     */
    static final long REMAP_WAIT_NANOS = 20_000_000L;

    /** {@link #REMAP_WAIT_NANOS}, longer in tests that must not depend on how the host schedules threads. */
    volatile long remapWaitNanos = REMAP_WAIT_NANOS;

    /** Waits that ran out ({@link #REMAP_WAIT_NANOS}; statistics). */
    private final java.util.concurrent.atomic.AtomicLong remapWaitTimeouts = new java.util.concurrent.atomic.AtomicLong();

    /**
     * The TLB shootdown of a vCPU's unshare in a domain with more vCPUs (Xen flushes the other CPUs'
     * TLBs before the p2m change takes effect): returns when every other vCPU in its run loop has
     * seen the current {@link #remapEpoch}, i.e. reads the gfn's new frame. Without it another vCPU
     * could read the old copy of a page after it read a flag this one stored later (store order
     * broken across pages). Called by the unsharing vCPU's own thread outside this object's monitor;
     * meanwhile it keeps its own translations current, so that two vCPUs unsharing at once do not
     * wait for each other. Bounded ({@link #REMAP_WAIT_NANOS}): then it goes on, the old frame
     * still referenced (so no stale read ever sees another domain's data).
     */
    public void awaitOthersRemapped(RemapSync self) {
        RemapSync[] syncs = remapSyncs;
        if (syncs.length < 2) {
            return;
        }
        self.syncRemap(); // first: another vCPU may be waiting for this one to see its own unshare
        long epoch = remapEpoch;
        long deadline = 0;
        for (RemapSync s : syncs) {
            while (s != self && s.active() && s.remapSeen() < epoch) {
                long now = System.nanoTime();
                if (deadline == 0) {
                    deadline = now + remapWaitNanos;
                } else if (now - deadline > 0) {
                    remapWaitTimeouts.incrementAndGet();
                    return;
                }
                self.syncRemap();
                Thread.onSpinWait();
            }
        }
    }

    /** Shootdown waits that ran out of time (statistics; see {@link #awaitOthersRemapped}). */
    public long remapWaitTimeouts() {
        return remapWaitTimeouts.get();
    }

    private volatile RemapSync[] remapSyncs = new RemapSync[0];
    /** Moves on at every p2m entry that left a shared frame; vCPUs drop their TLB when it does. */
    private volatile long remapEpoch;
    /** Shared frames this p2m left, whose reference is dropped once every vCPU saw {@link #pendingEpochs}. */
    private int[] pendingMfns = new int[16];
    private long[] pendingEpochs = new long[16];
    private int pendingCount;

    /** A vCPU's TLB, from its construction. */
    public synchronized void registerRemapSync(RemapSync s) {
        RemapSync[] a = Arrays.copyOf(remapSyncs, remapSyncs.length + 1);
        a[a.length - 1] = s;
        remapSyncs = a;
    }

    /** vCPU side, once per block of instructions: a different value than seen means drop every translation. */
    public long remapEpoch() {
        return remapEpoch;
    }

    /**
     * Gives guest frame {@code gfn} a frame of its own if it maps a {@link MachineMemory#SHARED}
     * one ("break before write", Xen's unshare): allocates, copies 4 KiB, swaps the p2m entry,
     * marks the new frame for log-dirty and moves {@link #remapEpoch} on, so that every vCPU drops
     * its translations before its next block. The reference to the shared frame is dropped only
     * once every running vCPU has done so — until then it may still read it, which is safe because
     * nobody writes a shared frame. {@code self}: the vCPU asking, which has dropped its own
     * entries for the old frame already. Returns the frame now behind {@code gfn}.
     */
    public synchronized int unshare(long gfn, RemapSync self) {
        int[] map = p2m;
        int old = gfn >= 0 && gfn < map.length ? map[(int) gfn] : INVALID_MFN;
        if (old == INVALID_MFN || machine.owner(old) != MachineMemory.SHARED) {
            return old;
        }
        int nu = machine.allocate(domid, 1)[0];
        System.arraycopy(machine.chunk(old), MachineMemory.offset(old), machine.chunk(nu), MachineMemory.offset(nu), MachineMemory.PAGE_SIZE);
        machine.markDirty(nu);
        boolean selfSynced = self != null && self.remapSeen() == remapEpoch;
        // in place: readers without the lock see the old (still referenced, unchanged) or the new frame
        map[(int) gfn] = nu;
        long e = remapEpoch + 1;
        remapEpoch = e; // publishes the entry to whoever reads the epoch
        if (selfSynced) {
            self.remapSeen(e);
        }
        unshares++;
        deferUnref(old);
        machine.wroteRam(); // another frame behind a guest address
        return nu;
    }

    /** {@link #mfn} of a frame this domain owns, unshared first; INVALID_MFN if it maps none of its own (hypercalls that keep an mfn). */
    public int ownFrameForWrite(long gfn) {
        int mfn = mfn(gfn);
        if (mfn != INVALID_MFN && machine.owner(mfn) == MachineMemory.SHARED) {
            mfn = unshare(gfn, null);
        }
        return mfn != INVALID_MFN && machine.owner(mfn) == domid ? mfn : INVALID_MFN;
    }

    /**
     * Whether {@code mfn} (found in this p2m) is this domain's RAM: its own frame, or a shared one
     * (only clones' p2m entries point at those). Save, migration and revert read such frames as
     * the domain's; writers must {@link #unshare} first.
     */
    public boolean holds(int mfn) {
        int o = machine.owner(mfn);
        return o == domid || o == MachineMemory.SHARED;
    }

    /** Unshares done in this domain (statistics). */
    private long unshares;

    public synchronized long unshares() {
        return unshares;
    }

    /** Frames of this p2m that are shared (statistics, {@code xen:info}). */
    public int sharedFramesMapped() {
        int n = 0;
        for (int m : p2m) {
            if (m != INVALID_MFN && machine.owner(m) == MachineMemory.SHARED) {
                n++;
            }
        }
        return n;
    }

    private void deferUnref(int mfn) {
        if (pendingCount == pendingMfns.length) {
            pendingMfns = Arrays.copyOf(pendingMfns, pendingCount * 2);
            pendingEpochs = Arrays.copyOf(pendingEpochs, pendingCount * 2);
        }
        pendingMfns[pendingCount] = mfn;
        pendingEpochs[pendingCount++] = remapEpoch;
        reclaim();
    }

    /** Drops the references whose epoch every running vCPU has seen (under the lock). */
    private void reclaim() {
        long synced = remapEpoch;
        for (RemapSync s : remapSyncs) {
            if (s.active()) {
                synced = Math.min(synced, s.remapSeen());
            }
        }
        int keep = 0;
        for (int k = 0; k < pendingCount; k++) {
            if (pendingEpochs[k] <= synced) {
                machine.unref(pendingMfns[k]);
            } else {
                pendingMfns[keep] = pendingMfns[k];
                pendingEpochs[keep++] = pendingEpochs[k];
            }
        }
        pendingCount = keep;
    }

    /** Shared frames this domain left but still holds a reference to (a vCPU has not synced yet). */
    public synchronized int pendingUnrefs() {
        reclaim();
        return pendingCount;
    }

    /**
     * The RAM of a clone, shared: every frame this domain owns becomes {@link MachineMemory#SHARED}
     * (or gets one more reference if it is already), with one reference held by the returned
     * token until {@link #adoptShared} or {@link SharedFrames#release}. Only while no vCPU of this
     * domain runs (paused, off every pCPU): the epoch moves on, so each drops its write tags before
     * its next store. Frames it does not own (grant mappings) are left out.
     */
    public SharedFrames shareForClone() {
        // no device write may be between its check and its store meanwhile (gate, then monitor: the writers' order too)
        var gate = shareGate.writeLock();
        gate.lock();
        try {
            return shareForCloneGated();
        } finally {
            gate.unlock();
        }
    }

    /**
     * Held for reading by {@code DomainMemory} writers from their shared-frame check to their store,
     * for writing by {@link #shareForClone}: a device's write racing the share lands before it (in
     * both branches' pre-share state, which the clone's restore compares with its image) or after
     * it (unshared), never into a frame already handed to the clone.
     */
    private final java.util.concurrent.locks.ReentrantReadWriteLock shareGate = new java.util.concurrent.locks.ReentrantReadWriteLock();

    private synchronized SharedFrames shareForCloneGated() {
        if (identityPlan) {
            throw new IllegalStateException("domain " + domid + " has a PV memory plan: its frames cannot be shared");
        }
        int[] map = p2m;
        int[] out = new int[map.length];
        Arrays.fill(out, INVALID_MFN);
        int[] n = machine.shareMapped(domid, map, out);
        remapEpoch = remapEpoch + 1; // its vCPUs' write tags of those frames go
        machine.wroteRam();
        return new SharedFrames(machine, out, n[0], n[1]);
    }

    /** Whether {@link #shareForClone} can share this domain's frames (not a PV memory plan). */
    public synchronized boolean canShare() {
        return !identityPlan;
    }

    /**
     * Ends a share this domain made for itself (a snapshot's frozen memory): the token's references
     * go, and each frame still mapped at its gfn with no other sharer is this domain's own again
     * (as before the share; a vCPU that cached it as shared finds it owned on its slow path). After
     * the domain's destruction only the references go. Idempotent with {@link SharedFrames#release}.
     */
    public int endShare(SharedFrames token) {
        var gate = shareGate.writeLock();
        gate.lock();
        try {
            synchronized (this) {
                int[] t = token.takeIfHeld();
                int owned = 0;
                for (int gfn = 0; t != null && gfn < t.length; gfn++) {
                    if (t[gfn] != INVALID_MFN) {
                        machine.unref(t[gfn]);
                        owned += gfn < p2m.length && p2m[gfn] == t[gfn] && machine.reclaimSole(domid, t[gfn]) ? 1 : 0;
                    }
                }
                return owned;
            }
        } finally {
            gate.unlock();
        }
    }

    /**
     * Replaces this (new, not yet running) domain's own frames by the token's shared ones where
     * both have RAM, taking over the token's references; the own frames go back to the pool.
     * Returns how many frames are now shared.
     */
    public synchronized int adoptShared(SharedFrames token) {
        if (identityPlan) {
            throw new IllegalStateException("domain " + domid + " has a PV memory plan: it cannot map shared frames");
        }
        int[] shared = token.take();
        int[] map = p2m.clone();
        int[] freed = new int[map.length];
        int nf = 0;
        int n = 0;
        for (int gfn = 0; gfn < shared.length; gfn++) {
            int s = shared[gfn];
            if (s == INVALID_MFN) {
                continue;
            }
            if (gfn < map.length && map[gfn] != INVALID_MFN && machine.owner(map[gfn]) == domid) {
                freed[nf++] = map[gfn];
                map[gfn] = s;
                n++;
            } else {
                machine.unref(s); // no RAM there in the clone: the token's reference goes
            }
        }
        p2m = map;
        remapEpoch = remapEpoch + 1;
        machine.free(domid, Arrays.copyOf(freed, nf));
        return n;
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
            int o;
            if (m != INVALID_MFN && ((o = machine.owner(m)) == domid || o == MachineMemory.SHARED)) {
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

    /** {@link #mfnOrThrow} for a store: a shared frame is unshared first (the one break of the device/loader door). */
    private int mfnForWrite(long gpa) {
        int mfn = mfnOrThrow(gpa);
        return machine.owner(mfn) == MachineMemory.SHARED ? unshare(gpa >>> MachineMemory.PAGE_SHIFT, null) : mfn;
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
        var gate = shareGate.readLock();
        gate.lock();
        try {
            writeGated(gpa, src, off, len);
        } finally {
            gate.unlock();
        }
    }

    private void writeGated(long gpa, byte[] src, int off, int len) {
        while (len > 0) {
            int mfn = mfnForWrite(gpa);
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
        store(gpa, value, 1);
    }

    @Override
    public void write16(long gpa, int value) {
        if ((gpa & 0xfff) > 0xffe) {
            write8(gpa, value);
            write8(gpa + 1, value >>> 8);
            return;
        }
        store(gpa, value, 2);
    }

    @Override
    public void write32(long gpa, int value) {
        if ((gpa & 0xfff) > 0xffc) {
            write16(gpa, value);
            write16(gpa + 2, value >>> 16);
            return;
        }
        store(gpa, value, 4);
    }

    /** A store of {@code size} bytes inside one page: under the share gate, the frame unshared and marked dirty first. */
    private void store(long gpa, int value, int size) {
        var gate = shareGate.readLock();
        gate.lock();
        try {
            int mfn = mfnForWrite(gpa);
            machine.markDirty(mfn);
            byte[] chunk = machine.chunk(mfn);
            int at = MachineMemory.offset(mfn) + (int) (gpa & 0xfff);
            switch (size) {
                case 1 -> chunk[at] = (byte) value;
                case 2 -> LE16.set(chunk, at, (short) value);
                default -> LE32.set(chunk, at, value);
            }
        } finally {
            gate.unlock();
        }
        machine.wroteRam();
    }
}
