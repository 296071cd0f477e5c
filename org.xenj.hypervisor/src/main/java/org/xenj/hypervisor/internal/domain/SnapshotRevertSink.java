package org.xenj.hypervisor.internal.domain;

import java.util.Arrays;

import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.save.SaveStream;

/**
 * Loads a snapshot's pages into the live domain's own frames, writing only those that differ:
 * reading a page costs a fraction of writing it, and most of a domain's memory (zero pages,
 * code) is what it was at the snapshot. Every changed frame is marked for log-dirty; the code
 * caches learn of the writes from one {@link MachineMemory#wroteRam} at the end (the vCPUs are
 * stopped, and it comes after every store).
 */
final class SnapshotRevertSink implements SaveStream.PageSink {
    private final DomainMemory mem;
    private final MachineMemory machine;
    long pages;
    long changed;

    SnapshotRevertSink(DomainMemory mem) {
        this.mem = mem;
        this.machine = mem.machine();
    }

    @Override
    public boolean populated(long gfn) {
        int mfn = mem.mfn(gfn);
        return mfn >= 0 && mem.holds(mfn);
    }

    @Override
    public void write(long gfn, byte[] src, int off) {
        int mfn = mem.mfn(gfn);
        byte[] chunk = machine.chunk(mfn);
        int at = MachineMemory.offset(mfn);
        pages++;
        if (!Arrays.equals(chunk, at, at + MachineMemory.PAGE_SIZE, src, off, off + MachineMemory.PAGE_SIZE)) {
            if (machine.owner(mfn) == MachineMemory.SHARED) {
                mfn = mem.unshare(gfn, null); // the revert writes this domain's copy only
                chunk = machine.chunk(mfn);
                at = MachineMemory.offset(mfn);
            }
            System.arraycopy(src, off, chunk, at, MachineMemory.PAGE_SIZE);
            machine.markDirty(mfn);
            changed++;
        }
    }

    void done() {
        if (changed > 0) {
            machine.wroteRam();
        }
    }
}
