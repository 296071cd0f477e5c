package org.xenj.hypervisor.internal.gnttab;

/** What a grant table needs from its domain's memory. */
public interface GrantFrames {

    /** Allocates one zeroed frame owned by the domain for the grant table; -1 if none is free. */
    int allocateFrame();

    /**
     * Machine frame behind a frame number the domain wrote into a grant entry or a copy op (an
     * mfn for PV, a gfn for HVM), or -1 if the domain does not own it.
     */
    int ownFrameToMfn(int frame);

    /** What the guest calls the grant-table frame {@code mfn} (mfn for PV, gfn where mapped for HVM). */
    int guestFrameOf(int mfn);
}
