package org.xenj.hypervisor.internal.mem;

/** Shared frames handed from a domain to its clone ({@link DomainMemory#shareForClone}): one reference each until taken. */
public final class SharedFrames {
    private final MachineMemory machine;
    private int[] gfnToMfn;
    private final int frames;
    private final int heldNotShared;

    SharedFrames(MachineMemory machine, int[] gfnToMfn, int frames, int heldNotShared) {
        this.machine = machine;
        this.gfnToMfn = gfnToMfn;
        this.frames = frames;
        this.heldNotShared = heldNotShared;
    }

    /** Frames the domain held (its own or shared) at the share that could not be shared (unbacked ones): not in the token. */
    public int heldNotShared() {
        return heldNotShared;
    }

    /** Frames shared. */
    public int frames() {
        return frames;
    }

    /**
     * The shared frame the token holds for guest frame {@code gfn}, or {@link DomainMemory#INVALID_MFN}
     * (none, or released). Its content is the one at the share: every writer unshares first. For
     * the thread that holds the token (a snapshot's writer), not after {@link #release}.
     */
    public int mfn(long gfn) {
        int[] t = gfnToMfn;
        return t == null || gfn < 0 || gfn >= t.length ? DomainMemory.INVALID_MFN : t[(int) gfn];
    }

    /** The references not taken or released yet, now the caller's; null if none. */
    synchronized int[] takeIfHeld() {
        int[] t = gfnToMfn;
        gfnToMfn = null;
        return t;
    }

    synchronized int[] take() {
        int[] t = gfnToMfn;
        if (t == null) {
            throw new IllegalStateException("the shared frames were taken already");
        }
        gfnToMfn = null;
        return t;
    }

    /** Drops the references not taken (a clone that failed before it adopted them); idempotent. */
    public synchronized void release() {
        int[] t = gfnToMfn;
        gfnToMfn = null;
        if (t != null) {
            for (int m : t) {
                if (m != DomainMemory.INVALID_MFN) {
                    machine.unref(m);
                }
            }
        }
    }
}
