package org.xenj.hypervisor.internal.domain;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.mem.SharedFrames;
import org.xenj.hypervisor.internal.save.SaveStream;

/**
 * A domain's memory as it was at one instant, readable while the domain runs on: taken with its
 * vCPUs stopped by sharing every frame copy-on-write ({@link DomainMemory#shareForClone}; every
 * later writer unshares first, so the token's frames keep their content) and copying the few that
 * cannot be shared. The page source of a snapshot written after its pause; {@link #release} ends
 * the share (also on every failure path, and after the domain is gone).
 */
final class FrozenPages implements SaveStream.PageSource, AutoCloseable {

    private final DomainMemory mem;
    private final MachineMemory machine;
    private final SharedFrames token;
    private final BitSet leaveOut;
    /** The domain's pages that could not be shared, copied in the pause (by guest frame). */
    private final Map<Integer, byte[]> copied;
    private final int gfnLimit;

    private FrozenPages(DomainMemory mem, SharedFrames token, BitSet leaveOut, Map<Integer, byte[]> copied, int gfnLimit) {
        this.mem = mem;
        this.machine = mem.machine();
        this.token = token;
        this.leaveOut = leaveOut;
        this.copied = copied;
        this.gfnLimit = gfnLimit;
    }

    /** With the domain's vCPUs stopped: the domain's frames except {@code leaveOut}, frozen. Needs {@link DomainMemory#canShare}. */
    static FrozenPages take(DomainMemory mem, BitSet leaveOut) {
        SharedFrames token = mem.shareForClone();
        try {
            // what the share left out but a save writes (see SaveRestore.pages): copied now, while nothing runs
            SaveStream.PageSource now = SaveRestore.pages(mem, leaveOut);
            Map<Integer, byte[]> copied = new HashMap<>();
            int limit = mem.gfnLimit();
            // usually every frame it holds was shared: then there is nothing to look for (the pause waits for this loop)
            for (int gfn = 0; token.heldNotShared() > 0 && gfn < limit; gfn++) {
                if (token.mfn(gfn) == DomainMemory.INVALID_MFN && !leaveOut.get(gfn)) {
                    byte[] page = new byte[MachineMemory.PAGE_SIZE];
                    if (now.read(gfn, page, 0)) {
                        copied.put(gfn, page);
                    }
                }
            }
            return new FrozenPages(mem, token, leaveOut, copied, limit);
        } catch (RuntimeException | Error e) {
            mem.endShare(token);
            throw e;
        }
    }

    int sharedFrames() {
        return token.frames();
    }

    int copiedFrames() {
        return copied.size();
    }

    @Override
    public long gfnLimit() {
        return gfnLimit;
    }

    @Override
    public boolean read(long gfn, byte[] dst, int off) {
        if (leaveOut.get((int) gfn)) {
            return false;
        }
        int mfn = token.mfn(gfn);
        if (mfn != DomainMemory.INVALID_MFN) {
            System.arraycopy(machine.chunk(mfn), MachineMemory.offset(mfn), dst, off, MachineMemory.PAGE_SIZE);
            return true;
        }
        byte[] page = copied.get((int) gfn);
        if (page == null) {
            return false;
        }
        System.arraycopy(page, 0, dst, off, MachineMemory.PAGE_SIZE);
        return true;
    }

    @Override
    public int readNonZero(long gfn, byte[] dst, int off) {
        if (leaveOut.get((int) gfn)) {
            return SaveStream.ABSENT;
        }
        int mfn = token.mfn(gfn);
        if (mfn != DomainMemory.INVALID_MFN) {
            return SaveRestore.copyUnlessZero(machine.chunk(mfn), MachineMemory.offset(mfn), dst, off);
        }
        byte[] page = copied.get((int) gfn);
        return page == null ? SaveStream.ABSENT : SaveRestore.copyUnlessZero(page, 0, dst, off);
    }

    /** Ends the share: the frames the domain did not write since are its own again, the others go. Idempotent. */
    void release() {
        mem.endShare(token);
    }

    @Override
    public void close() {
        release();
    }
}
