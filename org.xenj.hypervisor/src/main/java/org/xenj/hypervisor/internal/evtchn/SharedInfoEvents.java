package org.xenj.hypervisor.internal.evtchn;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_EVTCHN_MASK;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_EVTCHN_PENDING;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VCPU_INFO_SIZE;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_PENDING_SEL;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_UPCALL_MASK;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_UPCALL_PENDING;

import java.util.function.IntConsumer;

import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Xen's 2-level event ABI in a guest's shared_info frame: pending and mask bitmaps of 32 words,
 * then per vCPU a selector word and the upcall_pending byte. The guest flips the same bits with
 * locked instructions while we set them, so every update here is an atomic word operation.
 */
public final class SharedInfoEvents implements EventDelivery {

    private final MachineMemory machine;
    private final long base;
    private final IntConsumer kickVcpu;
    /**
     * Machine address of each vCPU's vcpu_info: its slot in shared_info until the guest moves it
     * with VCPUOP_register_vcpu_info. Replaced whole (copy on write), so readers need no lock.
     */
    private volatile long[] vcpuInfo = new long[0];

    /**
     * @param sharedInfoMfn the domain's shared_info frame
     * @param kickVcpu      wakes a vCPU (blocked or running) so that it notices upcall_pending
     */
    public SharedInfoEvents(MachineMemory machine, int sharedInfoMfn, IntConsumer kickVcpu) {
        this.machine = machine;
        this.base = (long) sharedInfoMfn << 12;
        this.kickVcpu = kickVcpu;
    }

    /** Machine address of {@code vcpu}'s vcpu_info (in shared_info unless registered elsewhere). */
    public long vcpuInfoAddress(int vcpu) {
        long[] moved = vcpuInfo;
        return vcpu < moved.length && moved[vcpu] != 0 ? moved[vcpu] : base + (long) vcpu * VCPU_INFO_SIZE;
    }

    public boolean vcpuInfoMoved(int vcpu) {
        long[] moved = vcpuInfo;
        return vcpu < moved.length && moved[vcpu] != 0;
    }

    /**
     * VCPUOP_register_vcpu_info: {@code vcpu}'s vcpu_info now lives at machine address {@code ma}.
     * As Xen does, the current contents are copied there and everything is marked pending (all
     * selector bits and upcall_pending) so that the guest rescans and misses no event.
     */
    public synchronized void moveVcpuInfo(int vcpu, long ma) {
        long old = vcpuInfoAddress(vcpu);
        for (int i = 0; i < VCPU_INFO_SIZE; i += 4) {
            MachineFrames.write32(machine, ma + i, MachineFrames.read32(machine, old + i));
        }
        long[] copy = java.util.Arrays.copyOf(vcpuInfo, Math.max(vcpuInfo.length, vcpu + 1));
        copy[vcpu] = ma;
        vcpuInfo = copy;
        MachineFrames.getAndOr32(machine, ma + VI_PENDING_SEL, -1);
        MachineFrames.getAndOr32(machine, ma + VI_UPCALL_PENDING, 1);
        kickVcpu.accept(vcpu);
    }

    /** A restore: {@code vcpu}'s vcpu_info is at {@code ma} (0: in shared_info), contents as they are. */
    public synchronized void placeVcpuInfo(int vcpu, long ma) {
        long[] copy = java.util.Arrays.copyOf(vcpuInfo, Math.max(vcpuInfo.length, vcpu + 1));
        copy[vcpu] = ma;
        vcpuInfo = copy;
    }

    private long word(int offset, int port) {
        return base + offset + 4L * (port >>> 5);
    }

    @Override
    public void setPending(int port, int vcpu) {
        int bit = 1 << (port & 31);
        int old = MachineFrames.getAndOr32(machine, word(SH_EVTCHN_PENDING, port), bit);
        if ((old & bit) != 0 || isMasked(port)) {
            return;
        }
        markVcpu(vcpu, port >>> 5);
    }

    private void markVcpu(int vcpu, int selBit) {
        long vi = vcpuInfoAddress(vcpu);
        int oldSel = MachineFrames.getAndOr32(machine, vi + VI_PENDING_SEL, 1 << selBit);
        if ((oldSel & (1 << selBit)) != 0) {
            return;
        }
        // upcall_pending is byte 0 of the word holding upcall_mask (byte 1): set it atomically.
        MachineFrames.getAndOr32(machine, vi + VI_UPCALL_PENDING, 1);
        kickVcpu.accept(vcpu);
    }

    @Override
    public void clearPending(int port) {
        MachineFrames.getAndAnd32(machine, word(SH_EVTCHN_PENDING, port), ~(1 << (port & 31)));
    }

    @Override
    public boolean isPending(int port) {
        return (MachineFrames.read32(machine, word(SH_EVTCHN_PENDING, port)) & 1 << (port & 31)) != 0;
    }

    @Override
    public boolean isMasked(int port) {
        return (MachineFrames.read32(machine, word(SH_EVTCHN_MASK, port)) & 1 << (port & 31)) != 0;
    }

    @Override
    public void unmask(int port, int vcpu) {
        int bit = 1 << (port & 31);
        int old = MachineFrames.getAndAnd32(machine, word(SH_EVTCHN_MASK, port), ~bit);
        if ((old & bit) != 0 && isPending(port)) {
            markVcpu(vcpu, port >>> 5);
        }
    }

    /** Whether the vCPU has an upcall pending and unmasked (the CPU delivers the event callback then). */
    public boolean upcallDeliverable(int vcpu) {
        long vi = vcpuInfoAddress(vcpu);
        int w = MachineFrames.read32(machine, vi + VI_UPCALL_PENDING);
        return (w & 0xff) != 0 && (w >>> 8 & 0xff) == 0;
    }

    public boolean upcallPending(int vcpu) {
        return (MachineFrames.read8(machine, vcpuInfoAddress(vcpu) + VI_UPCALL_PENDING)) != 0;
    }

    public void setUpcallMask(int vcpu, boolean masked) {
        MachineFrames.write8(machine, vcpuInfoAddress(vcpu) + VI_UPCALL_MASK, masked ? 1 : 0);
    }

    public boolean upcallMasked(int vcpu) {
        return MachineFrames.read8(machine, vcpuInfoAddress(vcpu) + VI_UPCALL_MASK) != 0;
    }
}
