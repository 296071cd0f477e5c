package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.exec.HostTimer;

/**
 * Xen's per-vCPU state of the PV ABI: the virtual IDT, callbacks, ring-1 stack, GDT frames,
 * page-table base and timer; plus requests a hypercall leaves for the vCPU loop (block, yield).
 * Touched by that vCPU's thread, and by timer/event threads only through the volatile fields.
 */
public final class XenVcpu {

    public final int id;
    /** Virtual trap table (set_trap_table): selector, offset, flags (DPL in 0-1, bit 2 = clear IF). */
    public final int[] trapCs = new int[256];
    public final int[] trapEip = new int[256];
    public final int[] trapFlags = new int[256];
    public int eventCs;
    public int eventEip;
    public int failsafeCs;
    public int failsafeEip;
    public boolean failsafeMasksEvents;
    public int nmiEip;
    public int kernelSs;
    public int kernelSp;
    public final int[] gdtFrames = new int[16];
    public int gdtEntries;
    public int ldtBase;
    public int ldtEntries;
    /** Machine address of the current PAE L3 (NEW_BASEPTR). */
    public volatile long cr3;
    /** CR0.TS as the guest set it with fpu_taskswitch. */
    public boolean fpuTaskSwitched;
    public volatile boolean up = true;
    /**
     * Whether the vCPU has a context: vCPU 0 from the domain builder, the others from
     * VCPUOP_initialise (once; Xen answers -EEXIST after that).
     */
    public volatile boolean initialised = true;
    /** Registers VCPUOP_initialise left for the vCPU's own thread to load at its next run, or null. */
    public volatile PvVcpuStart pendingStart;
    /** Makes the vCPU's loop return soon (set by its executor's owner): VCPUOP_down of a running vCPU. */
    public volatile Runnable kick;

    /** Set by SCHEDOP_block/poll/yield; the vCPU loop consumes them after the hypercall returns. */
    public volatile boolean blockRequested;
    public volatile boolean yieldRequested;
    /** Set by SCHEDOP_shutdown (or a crash the hypervisor decides): the vCPU loop stops. */
    public volatile boolean shutdownRequested;
    /** HYPERVISOR_iret could not load the frame's selectors: enter the failsafe callback. */
    public boolean failsafeRequested;
    /** Flushes requested by the guest (MMUEXT/UVMF); the CPU clears its TLB when it sees them. */
    public volatile boolean tlbFlushRequested;

    /** Single-shot timer deadline in Xen system time (ns), 0 = none. */
    public volatile long timerDeadline;
    public HostTimer.Handle timerHandle;
    public long periodicNanos;

    public XenVcpu(int id) {
        this.id = id;
    }
}
