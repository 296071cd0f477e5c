package org.xenj.hypervisor.internal.gnttab;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.DOMID_SELF;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTCOPY_DEST_GREF;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTCOPY_SOURCE_GREF;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_DEVICE_MAP;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_HOST_MAP;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_READONLY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_BAD_COPY_ARG;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_BAD_DOMAIN;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_BAD_GNTREF;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_BAD_HANDLE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_BAD_PAGE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_GENERAL_ERROR;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_OKAY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_PERMISSION_DENIED;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GRANT_ENTRY_V1_SIZE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_PERMIT_ACCESS;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_READING;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_READONLY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_TYPE_MASK;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_WRITING;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

import org.xenj.hypervisor.internal.mem.MachineFrames;

/**
 * One domain's grant table, v1: the shared entries (8 bytes each) in frames the domain owns, the
 * hypervisor's active-grant pin counts, and the maptrack of grants this domain has mapped from
 * others. GNTST_* results follow Xen; a failed op changes nothing.
 */
public final class GrantTable {

    public static final int ENTRIES_PER_FRAME = 4096 / GRANT_ENTRY_V1_SIZE;
    /** GNTST_no_device_space: maptrack full. */
    public static final int GNTST_NO_DEVICE_SPACE = -7;
    private static final int MAPTRACK_MAX = 4096;

    private final GrantHub hub;
    private final int domid;
    private final GrantFrames frames;
    private final GrantHostMapper hostMapper;
    private final int maxFrames;
    private int[] frameMfns = new int[0];
    /** Active pins per ref of this (granting) domain: readers and writers. */
    private int[] readPins = new int[0];
    private int[] writePins = new int[0];

    // maptrack of this (mapping) domain; handle = index
    private final boolean[] mtUsed = new boolean[MAPTRACK_MAX];
    private final int[] mtDom = new int[MAPTRACK_MAX];
    private final int[] mtRef = new int[MAPTRACK_MAX];
    private final int[] mtMfn = new int[MAPTRACK_MAX];
    private final int[] mtFlags = new int[MAPTRACK_MAX];
    private final long[] mtHost = new long[MAPTRACK_MAX];
    /** Bumped each time a handle is handed out, so a stale holder of a reused handle is told apart. */
    private final int[] mtGen = new int[MAPTRACK_MAX];
    private int mapped;

    GrantTable(GrantHub hub, int domid, GrantFrames frames, GrantHostMapper hostMapper, int maxFrames) {
        this.hub = hub;
        this.domid = domid;
        this.frames = frames;
        this.hostMapper = hostMapper;
        this.maxFrames = maxFrames;
    }

    public int domid() {
        return domid;
    }

    public int maxFrames() {
        return maxFrames;
    }

    public int nrFrames() {
        synchronized (hub.lock) {
            return frameMfns.length;
        }
    }

    /** Machine frame of grant-table frame {@code i} (for add_to_physmap and tests), or -1. */
    public int frameMfn(int i) {
        synchronized (hub.lock) {
            return i >= 0 && i < frameMfns.length ? frameMfns[i] : -1;
        }
    }

    /** GNTTABOP_setup_table: grows the table to {@code nr} frames; returns GNTST and fills {@code out} with frame numbers. */
    public int setup(int nr, int[] out) {
        synchronized (hub.lock) {
            if (nr < 0 || nr > maxFrames) {
                return GNTST_GENERAL_ERROR;
            }
            int have = frameMfns.length;
            if (nr > have) {
                int[] grown = Arrays.copyOf(frameMfns, nr);
                for (int i = have; i < nr; i++) {
                    int mfn = frames.allocateFrame();
                    if (mfn < 0) {
                        return GNTST_GENERAL_ERROR; // frames taken so far stay with the domain, unused
                    }
                    grown[i] = mfn;
                }
                frameMfns = grown;
                readPins = Arrays.copyOf(readPins, nr * ENTRIES_PER_FRAME);
                writePins = Arrays.copyOf(writePins, nr * ENTRIES_PER_FRAME);
            }
            for (int i = 0; i < nr; i++) {
                out[i] = frames.guestFrameOf(frameMfns[i]);
            }
            return GNTST_OKAY;
        }
    }

    private long entryAddress(int ref) {
        return ((long) frameMfns[ref / ENTRIES_PER_FRAME] << 12) + (long) (ref % ENTRIES_PER_FRAME) * GRANT_ENTRY_V1_SIZE;
    }

    private int entries() {
        return frameMfns.length * ENTRIES_PER_FRAME;
    }

    /**
     * Checks {@code ref} of this granting domain for use by {@code grantee}; returns the machine
     * frame (>= 0) or a GNTST error.
     */
    private int checkEntry(int ref, int grantee, boolean write) {
        if (ref < 0 || ref >= entries()) {
            return GNTST_BAD_GNTREF;
        }
        long e = entryAddress(ref);
        int flags = MachineFrames.read16(hub.machine, e);
        int dom = MachineFrames.read16(hub.machine, e + 2);
        int frame = MachineFrames.read32(hub.machine, e + 4);
        if ((flags & GTF_TYPE_MASK) != GTF_PERMIT_ACCESS || dom != grantee) {
            return GNTST_PERMISSION_DENIED;
        }
        if (write && (flags & GTF_READONLY) != 0) {
            return GNTST_PERMISSION_DENIED;
        }
        int mfn = frames.ownFrameToMfn(frame);
        return mfn < 0 ? GNTST_BAD_PAGE : mfn;
    }

    private void setInUseFlag(int ref, int bit) {
        long e = entryAddress(ref);
        for (;;) {
            int f = MachineFrames.read16(hub.machine, e);
            if (MachineFrames.compareAndSet16(hub.machine, e, f, f | bit)) {
                return;
            }
        }
    }

    private void clearInUseFlag(int ref, int bit) {
        long e = entryAddress(ref);
        for (;;) {
            int f = MachineFrames.read16(hub.machine, e);
            if (MachineFrames.compareAndSet16(hub.machine, e, f, f & ~bit)) {
                return;
            }
        }
    }

    /**
     * GNTTABOP_map_grant_ref by this domain of {@code ref} granted by {@code granterDom}.
     * Returns the handle (>= 0) or a GNTST error; {@code devBusOut[0]} receives the frame's
     * machine address when the op asks for a device mapping.
     */
    public int map(int granterDom, int ref, int flags, long hostAddr, long[] devBusOut) {
        synchronized (hub.lock) {
            if ((flags & (GNTMAP_HOST_MAP | GNTMAP_DEVICE_MAP)) == 0) {
                return GNTST_GENERAL_ERROR;
            }
            GrantTable g = hub.table(granterDom == DOMID_SELF ? domid : granterDom);
            if (g == null) {
                return GNTST_BAD_DOMAIN;
            }
            boolean ro = (flags & GNTMAP_READONLY) != 0;
            int mfn = g.checkEntry(ref, domid, !ro);
            if (mfn < 0) {
                return mfn;
            }
            int h = freeHandle();
            if (h < 0) {
                return GNTST_NO_DEVICE_SPACE;
            }
            if ((flags & GNTMAP_HOST_MAP) != 0) {
                int rc = hostMapper.install(hostAddr, mfn, ro, flags);
                if (rc != GNTST_OKAY) {
                    return rc;
                }
            }
            if (ro) {
                if (g.readPins[ref]++ == 0) {
                    g.setInUseFlag(ref, GTF_READING);
                }
            } else if (g.writePins[ref]++ == 0) {
                g.setInUseFlag(ref, GTF_WRITING);
            }
            mtUsed[h] = true;
            mtDom[h] = g.domid;
            mtRef[h] = ref;
            mtMfn[h] = mfn;
            mtFlags[h] = flags;
            mtHost[h] = hostAddr;
            mtGen[h]++;
            mapped++;
            if (devBusOut != null) {
                devBusOut[0] = (flags & GNTMAP_DEVICE_MAP) != 0 ? (long) mfn << 12 : 0;
            }
            return h;
        }
    }

    private int freeHandle() {
        for (int h = 0; h < MAPTRACK_MAX; h++) {
            if (!mtUsed[h]) {
                return h;
            }
        }
        return -1;
    }

    /** GNTTABOP_unmap_grant_ref of a handle this domain holds. */
    public int unmap(int handle, long hostAddr) {
        synchronized (hub.lock) {
            if (handle < 0 || handle >= MAPTRACK_MAX || !mtUsed[handle]) {
                return GNTST_BAD_HANDLE;
            }
            if ((mtFlags[handle] & GNTMAP_HOST_MAP) != 0) {
                if (hostAddr != mtHost[handle]) {
                    return GNTST_GENERAL_ERROR;
                }
                hostMapper.remove(hostAddr, mtMfn[handle]);
            }
            releaseHandleLocked(handle);
            return GNTST_OKAY;
        }
    }

    private void releaseHandleLocked(int h) {
        GrantTable g = hub.table(mtDom[h]);
        int ref = mtRef[h];
        if (g != null && ref < g.readPins.length) {
            if ((mtFlags[h] & GNTMAP_READONLY) != 0) {
                if (--g.readPins[ref] == 0) {
                    g.clearInUseFlag(ref, GTF_READING);
                }
            } else if (--g.writePins[ref] == 0) {
                g.clearInUseFlag(ref, GTF_WRITING);
            }
        }
        mtUsed[h] = false;
        mapped--;
    }

    void releaseAllMappingsLocked() {
        for (int h = 0; h < MAPTRACK_MAX; h++) {
            if (mtUsed[h]) {
                releaseHandleLocked(h);
            }
        }
    }

    void revokeMappingsOfLocked(int granter) {
        for (int h = 0; h < MAPTRACK_MAX; h++) {
            if (mtUsed[h] && mtDom[h] == granter) {
                if ((mtFlags[h] & GNTMAP_HOST_MAP) != 0) {
                    hostMapper.remove(mtHost[h], mtMfn[h]);
                }
                mtUsed[h] = false;
                mapped--;
            }
        }
    }

    /** Machine frame of a live handle (Dom0 backends read/write through it), or -1 if not mapped. */
    public int mappedMfn(int handle) {
        synchronized (hub.lock) {
            return handle >= 0 && handle < MAPTRACK_MAX && mtUsed[handle] ? mtMfn[handle] : -1;
        }
    }

    /** Unmaps {@code handle} only if it is still the mapping of {@code generation} (a Dom0 backend's). */
    public int unmapGeneration(int handle, int generation) {
        synchronized (hub.lock) {
            if (handle < 0 || handle >= MAPTRACK_MAX || !mtUsed[handle] || mtGen[handle] != generation) {
                return GNTST_BAD_HANDLE;
            }
            return unmap(handle, mtHost[handle]);
        }
    }

    /** Generation of a live handle (see {@link #withMapping}), or -1 if it is not mapped. */
    public int mappedGeneration(int handle) {
        synchronized (hub.lock) {
            return handle >= 0 && handle < MAPTRACK_MAX && mtUsed[handle] ? mtGen[handle] : -1;
        }
    }

    /**
     * Runs {@code access} with the machine address of the page behind {@code handle} while no
     * unmap or revoke can intervene; false (nothing run) if the handle is no longer the mapping of
     * that {@code generation}, or {@code write} is asked of a read-only mapping. This is how Domain
     * 0's Java backends touch granted pages: a revoked grant's frame may already belong to
     * someone else.
     */
    public boolean withMapping(int handle, int generation, boolean write, LongConsumer access) {
        synchronized (hub.lock) {
            if (handle < 0 || handle >= MAPTRACK_MAX || !mtUsed[handle] || mtGen[handle] != generation) {
                return false;
            }
            if (write && (mtFlags[handle] & GNTMAP_READONLY) != 0) {
                return false;
            }
            access.accept((long) mtMfn[handle] << 12);
            return true;
        }
    }

    /**
     * Grant copy between a Java buffer of this (Domain 0) domain and {@code granterDom}'s grant
     * {@code ref}, which must be granted to this domain (and writable when {@code toGrant}). The
     * grant is marked in use while copying, as a mapping would be. Returns GNTST.
     */
    public int copyWithBuffer(int granterDom, int ref, int offset, byte[] buf, int bufOff, int len, boolean toGrant) {
        synchronized (hub.lock) {
            if (len < 0 || offset < 0 || offset + len > 4096 || bufOff < 0 || bufOff + len > buf.length) {
                return GNTST_BAD_COPY_ARG;
            }
            GrantTable g = hub.table(granterDom);
            if (g == null) {
                return GNTST_BAD_DOMAIN;
            }
            int mfn = g.checkEntry(ref, domid, toGrant);
            if (mfn < 0) {
                return mfn;
            }
            int bit = toGrant ? GTF_WRITING : GTF_READING;
            boolean pinned = (toGrant ? g.writePins[ref] : g.readPins[ref]) > 0;
            if (!pinned) {
                g.setInUseFlag(ref, bit);
            }
            long ma = ((long) mfn << 12) + offset;
            if (toGrant) {
                MachineFrames.copyIn(hub.machine, ma, buf, bufOff, len);
            } else {
                MachineFrames.copyOut(hub.machine, ma, buf, bufOff, len);
            }
            if (!pinned) {
                g.clearInUseFlag(ref, bit);
            }
            return GNTST_OKAY;
        }
    }

    public boolean mappedWritable(int handle) {
        synchronized (hub.lock) {
            return mappedMfn(handle) >= 0 && (mtFlags[handle] & GNTMAP_READONLY) == 0;
        }
    }

    public int mappedCount() {
        synchronized (hub.lock) {
            return mapped;
        }
    }

    /** Active pins (readers + writers) of this domain's {@code ref}, for tests. */
    public int pins(int ref) {
        synchronized (hub.lock) {
            return ref >= 0 && ref < readPins.length ? readPins[ref] + writePins[ref] : 0;
        }
    }

    /**
     * One GNTTABOP_copy by this domain. A side is a grant ref of {@code dom} (flag set) or a frame
     * of this domain. Returns GNTST.
     */
    public int copy(int flags, int srcRefOrFrame, int srcDom, int srcOff, int dstRefOrFrame, int dstDom, int dstOff, int len) {
        synchronized (hub.lock) {
            if (len < 0 || srcOff < 0 || dstOff < 0 || srcOff + len > 4096 || dstOff + len > 4096) {
                return GNTST_BAD_COPY_ARG;
            }
            long src = side((flags & GNTCOPY_SOURCE_GREF) != 0, srcRefOrFrame, srcDom, false);
            if (src < 0) {
                return (int) src;
            }
            long dst = side((flags & GNTCOPY_DEST_GREF) != 0, dstRefOrFrame, dstDom, true);
            if (dst < 0) {
                return (int) dst;
            }
            byte[] buf = new byte[len];
            MachineFrames.copyOut(hub.machine, (src << 12) + srcOff, buf, 0, len);
            MachineFrames.copyIn(hub.machine, (dst << 12) + dstOff, buf, 0, len);
            return GNTST_OKAY;
        }
    }

    private long side(boolean gref, int refOrFrame, int dom, boolean write) {
        int d = dom == DOMID_SELF ? domid : dom;
        GrantTable t = hub.table(d);
        if (t == null) {
            return GNTST_BAD_DOMAIN;
        }
        if (gref) {
            return t.checkEntry(refOrFrame, domid, write);
        }
        if (d != domid && domid != 0) {
            return GNTST_PERMISSION_DENIED; // only Domain 0 copies to/from raw foreign frames
        }
        int mfn = t.frames.ownFrameToMfn(refOrFrame);
        return mfn < 0 ? GNTST_BAD_PAGE : mfn;
    }

    // ------------------------------------------------------------------ state

    /** The table as a record (save/restore, migration): frames' bytes, pins on its entries, its own maps. */
    public GrantTableState saveState() {
        synchronized (hub.lock) {
            List<byte[]> fs = new ArrayList<>();
            for (int mfn : frameMfns) {
                byte[] f = new byte[4096];
                MachineFrames.copyOut(hub.machine, (long) mfn << 12, f, 0, f.length);
                fs.add(f);
            }
            List<GrantTableState.Pin> pins = new ArrayList<>();
            for (int ref = 0; ref < readPins.length; ref++) {
                if (readPins[ref] != 0 || writePins[ref] != 0) {
                    pins.add(new GrantTableState.Pin(ref, readPins[ref], writePins[ref]));
                }
            }
            List<GrantTableState.Mapping> maps = new ArrayList<>();
            for (int h = 0; h < MAPTRACK_MAX; h++) {
                if (mtUsed[h]) {
                    maps.add(new GrantTableState.Mapping(h, mtDom[h], mtRef[h], mtFlags[h], mtHost[h]));
                }
            }
            return new GrantTableState(maxFrames, fs, pins, maps);
        }
    }

    /**
     * Puts a fresh table (no maps, no pins, at most as many frames as the record) in {@code s}:
     * frames are set up and filled, pins set, and each map found again through its granter's
     * restored entry (restore the granters first); the host mappings themselves are part of the
     * mapping domain's restored page tables (or, for Domain 0, of its backends, which map again).
     * All or nothing: IllegalArgumentException with the reason, the table then empty again.
     */
    public void restoreState(GrantTableState s) {
        synchronized (hub.lock) {
            if (s.maxFrames() != maxFrames) {
                throw new IllegalArgumentException("grant table state of " + s.maxFrames() + " frames for a table of " + maxFrames);
            }
            if (mapped != 0 || frameMfns.length > s.frames().size() || Arrays.stream(readPins).anyMatch(x -> x != 0)
                    || Arrays.stream(writePins).anyMatch(x -> x != 0)) {
                throw new IllegalArgumentException("grant table of d" + domid + " is in use: restore into a fresh table only");
            }
            int[] out = new int[s.frames().size()];
            if (setup(s.frames().size(), out) != GNTST_OKAY) {
                throw new IllegalArgumentException("no memory for " + s.frames().size() + " grant table frames of d" + domid);
            }
            for (int i = 0; i < frameMfns.length; i++) {
                MachineFrames.copyIn(hub.machine, (long) frameMfns[i] << 12, s.frames().get(i), 0, 4096);
            }
            for (GrantTableState.Pin p : s.pins()) {
                readPins[p.ref()] = p.readers();
                writePins[p.ref()] = p.writers();
            }
            int[] mfns = new int[s.maps().size()];
            for (int i = 0; i < mfns.length; i++) {
                GrantTableState.Mapping m = s.maps().get(i);
                GrantTable g = hub.table(m.granter());
                mfns[i] = g == null ? GNTST_BAD_DOMAIN : g.checkEntry(m.ref(), domid, !m.readOnly());
                if (mfns[i] < 0) {
                    Arrays.fill(readPins, 0);
                    Arrays.fill(writePins, 0);
                    for (int mfn : frameMfns) {
                        MachineFrames.zeroFrame(hub.machine, mfn);
                    }
                    throw new IllegalArgumentException("grant map " + m.handle() + " of d" + domid + ": d" + m.granter() + "'s ref "
                            + m.ref() + " is not granted to it (GNTST " + mfns[i] + ")");
                }
            }
            for (int i = 0; i < mfns.length; i++) {
                GrantTableState.Mapping m = s.maps().get(i);
                int h = m.handle();
                mtUsed[h] = true;
                mtDom[h] = m.granter();
                mtRef[h] = m.ref();
                mtMfn[h] = mfns[i];
                mtFlags[h] = m.flags();
                mtHost[h] = m.hostAddr();
                mtGen[h]++;
                mapped++;
            }
        }
    }
}
