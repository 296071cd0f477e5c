package org.xenj.hypervisor.internal.mem;

/** A holder of cached translations of a domain's p2m ({@link DomainMemory#unshare}) (a vCPU's TLB). */
public interface RemapSync {
    /** The {@link DomainMemory#remapEpoch} whose translations this vCPU dropped (volatile). */
    long remapSeen();

    /** The vCPU dropped its translations of the frame being unshared itself, having seen every earlier remap. */
    void remapSeen(long epoch);

    /** Whether it is in its run loop (volatile); one that is not syncs before its next access. */
    boolean active();

    /** Drops every translation if the epoch moved (the vCPU's own thread only). */
    void syncRemap();
}
