package org.xenj.hypervisor.internal.backend;

import org.xenj.hypervisor.internal.gnttab.GrantTable;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * A frontend page mapped by Domain 0 for a backend: every access goes through the grant table's
 * check that the mapping (this handle, this generation) is still live, and bounds are checked
 * against the page, so a backend can reach neither a revoked frame nor a neighbour's memory.
 */
final class SessionGrantMapping implements GrantMapping {

    private final BackendSession session;
    private final GrantTable dom0Grants;
    private final MachineMemory machine;
    private final int ref;
    private final int handle;
    private final int generation;
    private final boolean writable;
    private volatile boolean unmapped;

    SessionGrantMapping(BackendSession session, GrantTable dom0Grants, MachineMemory machine, int ref, int handle, boolean writable) {
        this.session = session;
        this.dom0Grants = dom0Grants;
        this.machine = machine;
        this.ref = ref;
        this.handle = handle;
        this.generation = dom0Grants.mappedGeneration(handle);
        this.writable = writable;
    }

    @Override
    public int ref() {
        return ref;
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public boolean live() {
        return !unmapped && dom0Grants.mappedGeneration(handle) == generation;
    }

    private void check(int offset, int len, int align, boolean write) {
        if (offset < 0 || len < 0 || offset > PAGE_SIZE - len || offset % align != 0) {
            throw new BackendException("access of " + len + " bytes at offset " + offset + " of grant " + ref + " is outside the page or misaligned");
        }
        if (write && !writable) {
            throw new BackendException("grant " + ref + " of d" + session.frontendDomid() + " is mapped read-only");
        }
    }

    // Reads and writes happen inside withMapping so that a revoke cannot slip between check and access.
    private int read(int offset, int width) {
        check(offset, width, width, false);
        int[] v = new int[1];
        boolean ok = !unmapped && dom0Grants.withMapping(handle, generation, false, base -> {
            long ma = base + offset;
            v[0] = switch (width) {
                case 1 -> MachineFrames.read8(machine, ma);
                case 2 -> MachineFrames.read16(machine, ma);
                default -> MachineFrames.read32(machine, ma);
            };
        });
        if (!ok) {
            throw gone();
        }
        return v[0];
    }

    private void write(int offset, int width, int value) {
        check(offset, width, width, true);
        boolean ok = !unmapped && dom0Grants.withMapping(handle, generation, true, base -> {
            long ma = base + offset;
            switch (width) {
                case 1 -> MachineFrames.write8(machine, ma, value);
                case 2 -> MachineFrames.write16(machine, ma, value);
                default -> MachineFrames.write32(machine, ma, value);
            }
        });
        if (!ok) {
            throw gone();
        }
    }

    private BackendException gone() {
        return new BackendException("grant " + ref + " of d" + session.frontendDomid() + " is no longer mapped");
    }

    @Override
    public int read8(int offset) {
        return read(offset, 1);
    }

    @Override
    public int read16(int offset) {
        return read(offset, 2);
    }

    @Override
    public int read32(int offset) {
        return read(offset, 4);
    }

    @Override
    public void write8(int offset, int value) {
        write(offset, 1, value);
    }

    @Override
    public void write16(int offset, int value) {
        write(offset, 2, value);
    }

    @Override
    public void write32(int offset, int value) {
        write(offset, 4, value);
    }

    @Override
    public void read(int offset, byte[] dst, int dstOff, int len) {
        check(offset, len, 1, false);
        java.util.Objects.checkFromIndexSize(dstOff, len, dst.length);
        boolean ok = !unmapped && dom0Grants.withMapping(handle, generation, false,
                base -> MachineFrames.copyOut(machine, base + offset, dst, dstOff, len));
        if (!ok) {
            throw gone();
        }
    }

    @Override
    public void write(int offset, byte[] src, int srcOff, int len) {
        check(offset, len, 1, true);
        java.util.Objects.checkFromIndexSize(srcOff, len, src.length);
        boolean ok = !unmapped && dom0Grants.withMapping(handle, generation, true,
                base -> MachineFrames.copyIn(machine, base + offset, src, srcOff, len));
        if (!ok) {
            throw gone();
        }
    }

    @Override
    public void unmap() {
        if (unmapped) {
            return;
        }
        unmapped = true;
        dom0Grants.unmapGeneration(handle, generation);
        session.forget(this);
    }
}
