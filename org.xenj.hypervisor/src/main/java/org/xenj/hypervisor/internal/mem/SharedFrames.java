package org.xenj.hypervisor.internal.mem;

/** Shared frames handed from a domain to its clone ({@link DomainMemory#shareForClone}): one reference each until taken. */
public final class SharedFrames {
    private final MachineMemory machine;
    private int[] gfnToMfn;
    private final int frames;

    SharedFrames(MachineMemory machine, int[] gfnToMfn, int frames) {
        this.machine = machine;
        this.gfnToMfn = gfnToMfn;
        this.frames = frames;
    }

    /** Frames shared. */
    public int frames() {
        return frames;
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
