package org.xenj.hypervisor.internal.mem;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Little-endian access to machine frames by machine address, for structures the hypervisor owns
 * inside guest frames (page tables, shared_info, grant entries, rings). Callers check ownership
 * first; these helpers only do the arithmetic. 32-bit accesses to aligned words can be atomic,
 * which event-channel bitmaps shared with running vCPUs need. Every writer marks the frame for
 * log-dirty mode ({@link DirtyLog}) and, after the store, counts it ({@link MachineMemory#wroteRam}: vCPUs
 * then compare their cached code with RAM again).
 */
public final class MachineFrames {

    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private MachineFrames() {
    }

    /**
     * Every writer's first step: refuses a {@link MachineMemory#SHARED} frame (these writers have
     * no domain in hand to unshare for: whoever resolved {@code ma} from a p2m must have unshared
     * it, e.g. {@link DomainMemory#ownFrameForWrite}; a shared frame here is a missed door, and
     * writing it would write every sharer's memory), then marks it for log-dirty.
     */
    private static void written(MachineMemory m, long ma) {
        int mfn = (int) (ma >>> 12);
        if (m.owner(mfn) == MachineMemory.SHARED) {
            throw new IllegalStateException("write by machine address into shared frame " + mfn + " (not unshared by its domain)");
        }
        m.markDirty(mfn);
    }

    private static int idx(long ma) {
        return MachineMemory.offset((int) (ma >>> 12)) + (int) (ma & 0xfff);
    }

    private static byte[] chunk(MachineMemory m, long ma) {
        return m.chunk((int) (ma >>> 12));
    }

    public static int read8(MachineMemory m, long ma) {
        return chunk(m, ma)[idx(ma)] & 0xff;
    }

    public static void write8(MachineMemory m, long ma, int v) {
        written(m, ma);
        chunk(m, ma)[idx(ma)] = (byte) v;
        m.wroteRam();
    }

    /** {@code ma} must be 2-aligned. */
    public static int read16(MachineMemory m, long ma) {
        return (short) LE16.get(chunk(m, ma), idx(ma)) & 0xffff;
    }

    public static void write16(MachineMemory m, long ma, int v) {
        written(m, ma);
        LE16.set(chunk(m, ma), idx(ma), (short) v);
        m.wroteRam();
    }

    /** {@code ma} must be 4-aligned (all our uses are). */
    public static int read32(MachineMemory m, long ma) {
        return (int) LE32.getVolatile(chunk(m, ma), idx(ma));
    }

    public static void write32(MachineMemory m, long ma, int v) {
        written(m, ma);
        LE32.setVolatile(chunk(m, ma), idx(ma), v);
        m.wroteRam();
    }

    /** Atomically ORs {@code bits} into the aligned word at {@code ma}; returns the old value. */
    public static int getAndOr32(MachineMemory m, long ma, int bits) {
        written(m, ma);
        var lock = m.atomicStripe(idx(ma)); // a guest's locked instruction on the word retries its CAS (see MachineMemory)
        lock.lock();
        try {
            int old = (int) LE32.getAndBitwiseOr(chunk(m, ma), idx(ma), bits);
            m.wroteRam();
            return old;
        } finally {
            lock.unlock();
        }
    }

    /** Atomically ANDs {@code bits} into the aligned word at {@code ma}; returns the old value. */
    public static int getAndAnd32(MachineMemory m, long ma, int bits) {
        written(m, ma);
        var lock = m.atomicStripe(idx(ma));
        lock.lock();
        try {
            int old = (int) LE32.getAndBitwiseAnd(chunk(m, ma), idx(ma), bits);
            m.wroteRam();
            return old;
        } finally {
            lock.unlock();
        }
    }

    public static boolean compareAndSet16(MachineMemory m, long ma, int expect, int update) {
        written(m, ma);
        // 16-bit CAS through the containing aligned word (VarHandles offer no 16-bit atomics).
        long word = ma & ~3L;
        int shift = (int) (ma & 2) * 8;
        byte[] c = chunk(m, word);
        int i = idx(word);
        var lock = m.atomicStripe(i);
        lock.lock();
        try {
            int old = (int) LE32.getVolatile(c, i);
            if ((old >>> shift & 0xffff) != (expect & 0xffff)) {
                return false;
            }
            int nu = old & ~(0xffff << shift) | (update & 0xffff) << shift;
            boolean done = LE32.compareAndSet(c, i, old, nu);
            m.wroteRam();
            return done;
        } finally {
            lock.unlock();
        }
    }

    /** {@code ma} must be 8-aligned. */
    public static long read64(MachineMemory m, long ma) {
        return (long) LE64.getVolatile(chunk(m, ma), idx(ma));
    }

    public static void write64(MachineMemory m, long ma, long v) {
        written(m, ma);
        LE64.setVolatile(chunk(m, ma), idx(ma), v);
        m.wroteRam();
    }

    public static void copyIn(MachineMemory m, long ma, byte[] src, int off, int len) {
        written(m, ma);
        System.arraycopy(src, off, chunk(m, ma), idx(ma), len);
        m.wroteRam();
    }

    public static void copyOut(MachineMemory m, long ma, byte[] dst, int off, int len) {
        System.arraycopy(chunk(m, ma), idx(ma), dst, off, len);
    }

    public static void zeroFrame(MachineMemory m, int mfn) {
        written(m, (long) mfn << 12);
        java.util.Arrays.fill(m.chunk(mfn), MachineMemory.offset(mfn), MachineMemory.offset(mfn) + MachineMemory.PAGE_SIZE, (byte) 0);
        m.wroteRam();
    }
}
