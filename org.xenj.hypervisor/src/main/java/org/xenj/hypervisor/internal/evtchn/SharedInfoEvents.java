package org.xenj.hypervisor.internal.evtchn;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_EVTCHN_MASK;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_EVTCHN_PENDING;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VCPU_INFO_SIZE;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_PENDING_SEL;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_UPCALL_MASK;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_UPCALL_PENDING;

import java.util.function.IntConsumer;

import org.xenj.hypervisor.internal.hypercall.MachineFrames;
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
     * @param sharedInfoMfn the domain's shared_info frame
     * @param kickVcpu      wakes a vCPU (blocked or running) so that it notices upcall_pending
     */
    public SharedInfoEvents(MachineMemory machine, int sharedInfoMfn, IntConsumer kickVcpu) {
        this.machine = machine;
        this.base = (long) sharedInfoMfn << 12;
        this.kickVcpu = kickVcpu;
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
        long vi = base + (long) vcpu * VCPU_INFO_SIZE;
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
        long vi = base + (long) vcpu * VCPU_INFO_SIZE;
        int w = MachineFrames.read32(machine, vi + VI_UPCALL_PENDING);
        return (w & 0xff) != 0 && (w >>> 8 & 0xff) == 0;
    }

    public boolean upcallPending(int vcpu) {
        return (MachineFrames.read8(machine, base + (long) vcpu * VCPU_INFO_SIZE + VI_UPCALL_PENDING)) != 0;
    }

    public void setUpcallMask(int vcpu, boolean masked) {
        MachineFrames.write8(machine, base + (long) vcpu * VCPU_INFO_SIZE + VI_UPCALL_MASK, masked ? 1 : 0);
    }

    public boolean upcallMasked(int vcpu) {
        return MachineFrames.read8(machine, base + (long) vcpu * VCPU_INFO_SIZE + VI_UPCALL_MASK) != 0;
    }
}
