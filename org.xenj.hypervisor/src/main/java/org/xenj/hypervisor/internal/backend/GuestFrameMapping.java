package org.xenj.hypervisor.internal.backend;

import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * A frontend's own frame mapped by number for a backend (Xen's privileged foreign mapping). Every
 * access resolves the frame again and checks that the frontend still owns it, under the machine
 * memory's lock — the lock its allocate, free and transfer take — so the frame cannot change owner
 * between the check and the access: a frame the frontend gave back, or a page another domain
 * granted it, is never touched.
 */
final class GuestFrameMapping implements GrantMapping {

    private final BackendSession session;
    private final XenDomain domain;
    private final MachineMemory machine;
    private final long gfn;
    private final boolean writable;
    private volatile boolean unmapped;

    GuestFrameMapping(BackendSession session, XenDomain domain, long gfn, boolean writable) {
        this.session = session;
        this.domain = domain;
        this.machine = domain.machine;
        this.gfn = gfn;
        this.writable = writable;
    }

    @Override
    public int ref() {
        return -1;
    }

    long gfn() {
        return gfn;
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public boolean live() {
        return !unmapped && domain.ownedMfn(gfn) >= 0;
    }

    /** The machine address of {@code offset}; call holding the machine lock, so ownership cannot change until the access is done. */
    private long resolve(int offset, int len, int align, boolean write) {
        if (offset < 0 || len < 0 || offset > PAGE_SIZE - len || offset % align != 0) {
            throw new BackendException("access of " + len + " bytes at offset " + offset + " of frame " + gfn + " is outside the page or misaligned");
        }
        if (write && !writable) {
            throw new BackendException("frame " + gfn + " of d" + domain.domid + " is mapped read-only");
        }
        int mfn = unmapped ? -1 : domain.ownedMfn(gfn);
        if (mfn < 0) {
            throw new BackendException("frame " + gfn + " is no longer d" + domain.domid + "'s");
        }
        return ((long) mfn << MachineMemory.PAGE_SHIFT) + offset;
    }

    @Override
    public int read8(int offset) {
        synchronized (machine) {
            return MachineFrames.read8(machine, resolve(offset, 1, 1, false));
        }
    }

    @Override
    public int read16(int offset) {
        synchronized (machine) {
            return MachineFrames.read16(machine, resolve(offset, 2, 2, false));
        }
    }

    @Override
    public int read32(int offset) {
        synchronized (machine) {
            return MachineFrames.read32(machine, resolve(offset, 4, 4, false));
        }
    }

    @Override
    public void write8(int offset, int value) {
        synchronized (machine) {
            MachineFrames.write8(machine, resolve(offset, 1, 1, true), value);
        }
    }

    @Override
    public void write16(int offset, int value) {
        synchronized (machine) {
            MachineFrames.write16(machine, resolve(offset, 2, 2, true), value);
        }
    }

    @Override
    public void write32(int offset, int value) {
        synchronized (machine) {
            MachineFrames.write32(machine, resolve(offset, 4, 4, true), value);
        }
    }

    @Override
    public void read(int offset, byte[] dst, int dstOff, int len) {
        java.util.Objects.checkFromIndexSize(dstOff, len, dst.length);
        synchronized (machine) {
            MachineFrames.copyOut(machine, resolve(offset, len, 1, false), dst, dstOff, len);
        }
    }

    @Override
    public void write(int offset, byte[] src, int srcOff, int len) {
        java.util.Objects.checkFromIndexSize(srcOff, len, src.length);
        synchronized (machine) {
            MachineFrames.copyIn(machine, resolve(offset, len, 1, true), src, srcOff, len);
        }
    }

    @Override
    public void unmap() {
        if (!unmapped) {
            unmapped = true;
            session.forget(this);
        }
    }
}
