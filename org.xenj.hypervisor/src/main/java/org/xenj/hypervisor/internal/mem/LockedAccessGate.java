package org.xenj.hypervisor.internal.mem;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One domain's arbiter between its vCPUs' two kinds of locked instructions (see the CPU's
 * {@code lockedRead}): the common kind is one compare-and-set of an aligned word and needs no
 * lock; the rare kind (an operand split across an 8-byte boundary or a page, MMIO, a watched code
 * page) is a read and a write under {@link #lock}. For the split kind to be atomic against the CAS
 * kind too, a vCPU raises its flag here (only when the domain has several vCPUs) between reading
 * and compare-and-setting a word, and backs off while a split access is active; the split access
 * raises {@code splitActive} and waits until every flag is down (Dekker: each side stores its own
 * word, then reads the other's, with volatile accesses — a full fence in between). Flags sit 64
 * bytes apart so that vCPUs do not share a cache line. A CAS-kind access never blocks between
 * raising and lowering its flag, so the wait is short.
 */
public final class LockedAccessGate {

    /** vCPUs with a flag of their own; a vCPU with a higher index shares the last one (correct, slower). */
    public static final int SLOTS = 64;
    private static final int STRIDE = 16;

    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean splitActive;
    private final AtomicIntegerArray flags = new AtomicIntegerArray(SLOTS * STRIDE);
    private volatile int highest;

    /** The flag index of vCPU {@code vcpu} (0-based order of building). */
    public void register(int vcpu) {
        synchronized (this) {
            highest = Math.max(highest, Math.min(vcpu, SLOTS - 1));
        }
    }

    /** Before a CAS-kind locked access (several vCPUs only): raises the flag, waiting out a split access. */
    public void enter(int vcpu) {
        if (vcpu >= SLOTS - 1) {
            enterShared();
            return;
        }
        int i = vcpu * STRIDE;
        while (true) {
            flags.set(i, 1); // volatile store, then the volatile load: StoreLoad ordered
            if (!splitActive) {
                return;
            }
            flags.set(i, 0);
            while (splitActive) {
                Thread.onSpinWait();
            }
        }
    }

    private void enterShared() {
        int i = (SLOTS - 1) * STRIDE;
        while (true) {
            flags.getAndIncrement(i);
            if (!splitActive) {
                return;
            }
            flags.getAndDecrement(i);
            while (splitActive) {
                Thread.onSpinWait();
            }
        }
    }

    /** After the CAS (or a fault between read and CAS). */
    public void exit(int vcpu) {
        if (vcpu >= SLOTS - 1) {
            flags.getAndDecrement((SLOTS - 1) * STRIDE);
        } else {
            flags.setRelease(vcpu * STRIDE, 0);
        }
    }

    /** Takes the split lock: afterwards no CAS-kind locked access of this domain is in progress. */
    public void lock() {
        lock.lock();
        splitActive = true;
        int n = highest;
        for (int v = 0; v <= n; v++) {
            while (flags.get(v * STRIDE) != 0) {
                Thread.onSpinWait();
            }
        }
    }

    public void unlock() {
        splitActive = false;
        lock.unlock();
    }
}
