package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;

import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * {@link GuestVirtualMemory} over machine frames, given a page translation. Subclasses say how a
 * guest address becomes a machine address (page walk for PV, p2m for HVM); this class splits
 * accesses at page boundaries and checks every page before the first byte moves.
 */
public abstract class TranslatingGuestMemory implements GuestVirtualMemory {

    protected final MachineMemory machine;

    protected TranslatingGuestMemory(MachineMemory machine) {
        this.machine = machine;
    }

    /**
     * Machine address of guest address {@code va} (32-bit, unsigned), or -1 if the guest may not
     * access it (for writing when {@code write}).
     */
    protected abstract long translate(int va, boolean write);

    private long ma(int va, boolean write) {
        long ma = translate(va, write);
        if (ma < 0) {
            throw GuestFault.INSTANCE;
        }
        return ma;
    }

    private void check(int va, int len, boolean write) {
        if (len < 0 || (va & 0xffffffffL) + len > 0x1_0000_0000L) {
            throw GuestFault.INSTANCE;
        }
        if (len == 0) {
            return;
        }
        long first = (va & 0xffffffffL) >>> 12;
        long last = ((va & 0xffffffffL) + len - 1) >>> 12;
        for (long p = first; p <= last; p++) {
            ma((int) (p << 12), write);
        }
    }

    @Override
    public void checkReadable(int va, int len) {
        check(va, len, false);
    }

    @Override
    public void checkWritable(int va, int len) {
        check(va, len, true);
    }

    @Override
    public int read8(int va) {
        return MachineFrames.read8(machine, ma(va, false));
    }

    @Override
    public int read16(int va) {
        if ((va & 1) == 0) {
            return MachineFrames.read16(machine, ma(va, false));
        }
        check(va, 2, false);
        return read8(va) | read8(va + 1) << 8;
    }

    @Override
    public int read32(int va) {
        if ((va & 3) == 0) {
            return MachineFrames.read32(machine, ma(va, false));
        }
        check(va, 4, false);
        return read16Unaligned(va) | read16Unaligned(va + 2) << 16;
    }

    private int read16Unaligned(int va) {
        return read8(va) | read8(va + 1) << 8;
    }

    @Override
    public long read64(int va) {
        check(va, 8, false);
        return read32(va) & 0xffffffffL | (long) read32(va + 4) << 32;
    }

    @Override
    public void write8(int va, int value) {
        MachineFrames.write8(machine, ma(va, true), value);
    }

    @Override
    public void write16(int va, int value) {
        check(va, 2, true);
        write8(va, value);
        write8(va + 1, value >>> 8);
    }

    @Override
    public void write32(int va, int value) {
        if ((va & 3) == 0) {
            MachineFrames.write32(machine, ma(va, true), value);
            return;
        }
        check(va, 4, true);
        for (int i = 0; i < 4; i++) {
            write8(va + i, value >>> (8 * i));
        }
    }

    @Override
    public void write64(int va, long value) {
        check(va, 8, true);
        write32(va, (int) value);
        write32(va + 4, (int) (value >>> 32));
    }

    @Override
    public void read(int va, byte[] dst, int off, int len) {
        check(va, len, false);
        while (len > 0) {
            int n = Math.min(len, 4096 - (va & 0xfff));
            MachineFrames.copyOut(machine, ma(va, false), dst, off, n);
            va += n;
            off += n;
            len -= n;
        }
    }

    @Override
    public void write(int va, byte[] src, int off, int len) {
        check(va, len, true);
        while (len > 0) {
            int n = Math.min(len, 4096 - (va & 0xfff));
            MachineFrames.copyIn(machine, ma(va, true), src, off, n);
            va += n;
            off += n;
            len -= n;
        }
    }
}
