package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.hypercall.PvHypervisorArea;

import org.xenj.hypervisor.internal.hypercall.XenCpuidLeaves;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_ARCH_CR2;

import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.CpuExecutor;
import org.xenj.hypervisor.internal.cpu.CpuidHook;
import org.xenj.hypervisor.internal.cpu.DeliveryHook;
import org.xenj.hypervisor.internal.cpu.HypercallHandler;
import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.cpu.jit.JitOptions;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.hypercall.GuestRegisters;
import org.xenj.hypervisor.internal.hypercall.HypercallContext;
import org.xenj.hypervisor.internal.hypercall.PvVirtualMemory;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenVcpu;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

/**
 * One PV vCPU on the IA-32 CPU: the kernel runs in ring 1 with Xen's flat selectors, paging on
 * the guest's validated PAE tables, no IDT. Everything the hardware would deliver through the IDT
 * comes here instead ({@link DeliveryHook}): {@code int 0x82} runs the hypercall table,
 * exceptions and software interrupts bounce to the guest's virtual trap table, privileged
 * instructions a ring-1 kernel may use are emulated, the forced-emulation prefix runs CPUID, and a
 * pending, unmasked event enters the event callback.
 */
public final class PvVcpu implements CpuEnvironment, HypercallHandler, DeliveryHook, CpuidHook {

    /** Pseudo vector for "event upcall" passed through the CPU's external-interrupt path. */
    static final int EVENT_VECTOR = 0xF3;
    private static final int CS = 1;
    private static final int SS = 2;
    private static final int DS = 3;
    private static final int ES = 0;
    private static final int FS = 4;
    private static final int GS = 5;
    private static final int EAX = 0;
    private static final int ECX = 1;
    private static final int EDX = 2;
    private static final int EBX = 3;
    private static final int ESP = 4;
    private static final int ESI = 6;
    private static final int EDI = 7;
    private static final int IF = 0x200;
    private static final int CR0_PE = 1;
    private static final int CR0_TS = 8;
    private static final int CR0_ET = 0x10;
    private static final int CR0_NE = 0x20;
    private static final int CR0_WP = 0x10000;
    private static final int CR0_PG = 0x80000000;
    private static final int CR4_PAE = 0x20;
    /**
     * The CR4 a PV guest runs with and reads: PAE, and OSFXSR/OSXMMEXCPT as Xen sets them for PV
     * guests (CPUID offers SSE/SSE2; the guest cannot set these bits itself).
     */
    static final int GUEST_CR4 = CR4_PAE | 0x200 | 0x400;
    private static final int GP = 13;
    private static final int UD = 6;
    private static final int PF = 14;
    private static final int NM = 7;

    private final XenDomain d;
    private final XenVcpu v;
    private final Cpu cpu;
    private final CpuExecutor executor;
    private final HypercallContext hc;
    private final PvPrivilegedOps privileged;
    private final PvPageTableWrites pageTableWrites;
    private long loadedCr3;

    public PvVcpu(XenDomain d, int id, PvBootState boot) {
        this.d = d;
        this.v = d.vcpus[id];
        this.cpu = new Cpu(d.memory, this);
        try {
            cpu.setTranslator(JitOptions.configValue(d.context.config().raw().get(JitOptions.CONFIG_KEY)));
        } catch (IllegalArgumentException e) {
            throw new org.xenj.hypervisor.api.HypervisorException(e.getMessage());
        }
        // Xen gives every PV vCPU a working FPU (lazy switching is the hypervisor's business); a guest
        // runs fninit before it could handle #NM (Mini-OS's #NM handler is a bare iret).
        cpu.setFpu(new X87(cpu.fpuMemory()));
        cpu.setClock(d.context.clock());
        this.executor = new CpuExecutor(cpu, this, d.context::log);
        this.hc = new HypercallContext(d, id, new CpuRegisters(cpu));
        this.privileged = new PvPrivilegedOps(d, v, cpu);
        this.pageTableWrites = new PvPageTableWrites(d, v, cpu, (PvVirtualMemory) hc.memory);
        cpu.setDeliveryHook(this);
        cpu.setHypercallHandler(this);
        cpu.setCpuidHook(this);
        if (id == 0) {
            enter(boot);
        } else {
            // down until VCPUOP_initialise gives it a context and VCPUOP_up starts it
            v.up = false;
            v.initialised = false;
            cpu.halt();
        }
        v.kick = executor::requestExit;
    }

    /** Whether this vCPU is halted because VCPUOP_down stopped it (not because it blocked itself). */
    private boolean haltedForDown;

    /** VCPUOP_down took effect: the CPU stops where it is; VCPUOP_up lets it go on from there. */
    private void stopForDown() {
        if (!cpu.isHalted() && v.initialised) {
            haltedForDown = true;
        }
        cpu.halt();
    }

    /**
     * Loads the registers VCPUOP_initialise left ({@link XenVcpu#pendingStart}) into this vCPU's CPU,
     * on its own thread: ring 1 with Xen's GDT window, the context's page-table base (validated by
     * the hypercall), segments, EFLAGS (IF always set: the event mask is the guest's interrupt flag).
     * Selectors that do not load leave the vCPU down, with the reason in the domain's log.
     */
    private void start(org.xenj.hypervisor.internal.hypercall.PvVcpuStart s) {
        cpu.enterFlatProtectedMode32(0);
        cpu.setCr(4, GUEST_CR4);
        cpu.setCr(3, (int) v.cr3);
        cpu.setCr(0, CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
        loadedCr3 = v.cr3;
        cpu.setGdtr(PvHypervisorArea.gdtBase(v.id), PvHypervisorArea.GDT_WINDOW - 1);
        cpu.setIdtr(0, 0);
        v.tlbFlushRequested = false;
        cpu.flushTlbAll();
        try {
            cpu.loadSegment(CS, s.cs());
            cpu.loadSegment(SS, s.ss());
            cpu.loadSegment(DS, s.ds());
            cpu.loadSegment(ES, s.es());
            cpu.loadSegment(FS, s.fs());
            cpu.loadSegment(GS, s.gs());
        } catch (RuntimeException e) {
            v.up = false;
            v.initialised = false;
            d.context.log("vCPU " + v.id + ": the selectors of its VCPUOP_initialise context do not load (" + e.getMessage()
                    + "): it stays down");
            return;
        }
        cpu.setEflags(s.eflags() | IF | 2);
        cpu.setEip(s.eip());
        int[] r = {s.eax(), s.ecx(), s.edx(), s.ebx(), s.esp(), s.ebp(), s.esi(), s.edi()};
        for (int i = 0; i < 8; i++) {
            cpu.setReg32(i, r[i]);
        }
        cpu.unhalt();
    }

    /** Start of day: protected mode, PAE paging on the pinned tables, ring 1, ESI = start_info. */
    private void enter(PvBootState boot) {
        cpu.enterFlatProtectedMode32(0);
        cpu.setCr(4, GUEST_CR4);
        cpu.setCr(3, (int) boot.cr3());
        cpu.setCr(0, CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
        loadedCr3 = boot.cr3();
        cpu.setGdtr(PvHypervisorArea.gdtBase(v.id), PvHypervisorArea.GDT_WINDOW - 1);
        cpu.setIdtr(0, 0);
        cpu.loadSegment(CS, boot.cs());
        cpu.loadSegment(SS, boot.ds());
        for (int s : new int[] {DS, ES, FS, GS}) {
            cpu.loadSegment(s, boot.ds());
        }
        cpu.setEflags(boot.eflags());
        cpu.setEip(boot.eip());
        cpu.setReg32(ESP, boot.esp());
        cpu.setReg32(ESI, boot.esi());
    }

    /** Whether VCPUOP_down stopped this vCPU (a save). */
    boolean haltedForDown() {
        return haltedForDown;
    }

    /**
     * A restore, before the vCPU ever ran, its {@link XenVcpu} already restored: the registers, and
     * the page-table base they name taken as loaded (the builder's start-of-day state is gone).
     */
    void restore(org.xenj.hypervisor.internal.cpu.CpuState state, boolean downHalted) {
        cpu.restoreState(state);
        loadedCr3 = v.cr3;
        haltedForDown = downHalted;
        v.tlbFlushRequested = false;
        cpu.flushTlbAll();
    }

    /** The CPU's executor (tests and diagnostics); the scheduler gets {@link #scheduled()}. */
    public CpuExecutor executor() {
        return executor;
    }

    /** What the scheduler runs: the CPU, with vcpu_time_info refreshed each time the vCPU is scheduled in (as Xen does). */
    public VCpuExecutor scheduled() {
        return scheduled;
    }

    private final VCpuExecutor scheduled = new VCpuExecutor() {
        @Override
        public RunExit run(long deadlineNanos) {
            org.xenj.hypervisor.internal.hypercall.PvVcpuStart s = v.pendingStart;
            if (s != null) {
                v.pendingStart = null;
                start(s);
            }
            if (!v.up) {
                stopForDown();
                return RunExit.BLOCKED;
            }
            if (haltedForDown) {
                haltedForDown = false;
                cpu.unhalt(); // VCPUOP_up: on from where VCPUOP_down stopped it
            }
            d.updateTime(v.id);
            return executor.run(deadlineNanos);
        }

        @Override
        public void requestExit() {
            executor.requestExit();
        }

        @Override
        public boolean wakeupPending() {
            return v.up && (v.pendingStart != null || executor.wakeupPending());
        }

        @Override
        public String debugState() {
            // debug key 'd' for a PV vCPU: registers, and the event state the upcall depends on
            return executor.debugState() + "\nupcall_pending=" + (d.events.upcallPending(v.id) ? 1 : 0) + " upcall_mask="
                    + (d.events.upcallMasked(v.id) ? 1 : 0) + " halted=" + cpu.isHalted();
        }
    };

    public Cpu cpu() {
        return cpu;
    }

    // ------------------------------------------------------------------ hypercalls

    @Override
    public boolean hypercall(Cpu c, int kind) {
        if (kind != INT82 || c.getCpl() != 1) {
            return false; // from ring 3 (or vmcall): what the hardware does
        }
        int nr = c.getReg32(EAX);
        int rc = d.host.dispatcher.dispatch(hc, nr, c.getReg32(EBX), c.getReg32(ECX), c.getReg32(EDX), c.getReg32(ESI),
                c.getReg32(EDI));
        c.setReg32(EAX, rc);
        afterHypercall();
        return true;
    }

    /** Applies what a hypercall left for the CPU: page-table base, TLB, TS, block/yield/shutdown. */
    void afterHypercall() {
        if (v.cr3 != loadedCr3) {
            loadedCr3 = v.cr3;
            cpu.setCr(3, (int) loadedCr3);
        }
        if (v.tlbFlushRequested) {
            v.tlbFlushRequested = false;
            cpu.flushTlbAll();
        }
        int cr0 = cpu.getCr(0);
        int want = v.fpuTaskSwitched ? cr0 | CR0_TS : cr0 & ~CR0_TS;
        if (want != cr0) {
            cpu.setCr(0, want);
        }
        if (v.failsafeRequested) {
            v.failsafeRequested = false;
            failsafe();
        }
        if (v.blockRequested) {
            v.blockRequested = false;
            cpu.halt();
        }
        if (!v.up) {
            stopForDown(); // VCPUOP_down on itself: nothing after the hypercall runs until VCPUOP_up
            executor.requestExit();
        }
        if (v.yieldRequested) {
            v.yieldRequested = false;
            executor.requestExit();
        }
        if (v.shutdownRequested) {
            executor.requestShutdown();
            cpu.endBlock();
        }
    }

    // ------------------------------------------------------------------ delivery

    @Override
    public boolean deliver(Cpu c, int vector, int kind, int errorCode) {
        switch (kind) {
            case EXTERNAL_INT -> {
                if (vector == EVENT_VECTOR && v.eventEip != 0) {
                    bounce(v.eventCs, v.eventEip, -1, true);
                    return true;
                }
                return true; // nothing else is wired to a PV vCPU
            }
            case SOFTWARE_INT -> {
                int dpl = v.trapFlags[vector] & 3;
                if (v.trapEip[vector] == 0 || dpl < c.getCpl()) {
                    return deliver(c, GP, EXCEPTION, vector * 8 + 2);
                }
                bounce(v.trapCs[vector], v.trapEip[vector], -1, (v.trapFlags[vector] & 4) != 0);
                return true;
            }
            default -> {
                if (vector == GP && c.getCpl() == 1 && privileged.emulate()) {
                    afterHypercall();
                    return true;
                }
                if (vector == UD && privileged.forcedEmulationPrefix()) {
                    return true;
                }
                if (vector == PF) {
                    int r = pageTableWrites.handle(errorCode);
                    if (r == Cpu.EMULATED) {
                        return true; // a store into one of its L1 tables, validated and done
                    }
                    if (r == Cpu.FAULTED) {
                        // re-executing it raised another exception first: that one is the guest's
                        vector = c.lastFaultVector();
                        errorCode = hasErrorCode(vector) ? c.lastErrorCode() : -1;
                    }
                }
                if (vector == PF) {
                    long vi = d.events.vcpuInfoAddress(v.id) + VI_ARCH_CR2;
                    MachineFrames.write32(d.machine, vi, c.getCr(2));
                }
                if (v.trapEip[vector] == 0) {
                    crash("unhandled exception " + vector + " (error " + errorCode + ") at " + Integer.toHexString(c.getEip()));
                    return true;
                }
                if (vector == NM) {
                    // As Xen: #NM reaches the guest with its virtual CR0.TS already cleared (fpu_taskswitch
                    // semantics), so a handler that only returns does not fault again forever.
                    v.fpuTaskSwitched = false;
                    c.setCr(0, c.getCr(0) & ~CR0_TS);
                }
                bounce(v.trapCs[vector], v.trapEip[vector], errorCode, (v.trapFlags[vector] & 4) != 0);
                return true;
            }
        }
    }

    private static boolean hasErrorCode(int vector) {
        return vector == 8 || vector >= 10 && vector <= 14 || vector == 17;
    }

    /** Page-table writes emulated and refused so far (tests, diagnostics). */
    public long[] pageTableWriteCounts() {
        return new long[] {pageTableWrites.emulated, pageTableWrites.refused};
    }

    /**
     * Xen's bounce frame: from ring 3 switch to the kernel stack (SS, ESP pushed), then EFLAGS
     * (IF = events enabled), CS, EIP and the error code; enter the handler in ring 1.
     */
    private void bounce(int cs, int eip, int errorCode, boolean maskEvents) {
        int fromCpl = cpu.getCpl();
        int oldSs = cpu.getSegSelector(SS);
        int oldEsp = cpu.getReg32(ESP);
        int oldCs = cpu.getSegSelector(CS);
        int oldEip = cpu.getEip();
        int flags = cpu.getEflags() & ~IF | (d.events.upcallMasked(v.id) ? 0 : IF);
        int sp = oldEsp;
        if (fromCpl == 3) {
            cpu.loadSegment(CS, cs);
            cpu.loadSegment(SS, v.kernelSs);
            sp = v.kernelSp;
            sp = push(sp, oldSs);
            sp = push(sp, oldEsp);
        }
        sp = push(sp, flags);
        sp = push(sp, oldCs);
        sp = push(sp, oldEip);
        if (errorCode >= 0) {
            sp = push(sp, errorCode);
        }
        if (fromCpl != 3) {
            cpu.loadSegment(CS, cs);
        }
        cpu.setReg32(ESP, sp);
        cpu.setEip(eip);
        cpu.setEflags(cpu.getEflags() & ~(0x100 | 0x4000 | 0x10000 | 0x20000) | IF); // TF, NT, RF, VM off
        if (maskEvents) {
            d.events.setUpcallMask(v.id, true);
        }
        cpu.endBlock();
    }

    private int push(int sp, int value) {
        sp -= 4;
        cpu.writeLinear32(sp, value);
        return sp;
    }

    /**
     * Failsafe callback (a frame could not be loaded): the usual bounce frame, then the data
     * selectors below it (DS lowest, as the handler pops DS, ES, FS, GS before its iret), and flat
     * kernel selectors loaded.
     */
    private void failsafe() {
        int[] sel = {cpu.getSegSelector(GS), cpu.getSegSelector(FS), cpu.getSegSelector(ES), cpu.getSegSelector(DS)};
        if (v.failsafeEip == 0) {
            crash("failsafe callback needed but not registered");
            return;
        }
        bounce(v.failsafeCs, v.failsafeEip, -1, v.failsafeMasksEvents);
        int sp = cpu.getReg32(ESP);
        for (int s : sel) {
            sp = push(sp, s);
        }
        cpu.setReg32(ESP, sp);
        for (int s : new int[] {DS, ES, FS, GS}) {
            cpu.loadSegment(s, XenAbi.FLAT_RING1_DS);
        }
    }

    private void crash(String why) {
        d.context.log("PV vCPU " + v.id + " crashed: " + why);
        v.shutdownRequested = true;
        d.context.requestShutdown(ShutdownReason.CRASH);
        executor.requestShutdown();
        cpu.halt();
    }

    // ------------------------------------------------------------------ CPUID

    @Override
    public void adjust(int leaf, int subleaf, int[] regs) {
        if (leaf == 1) {
            regs[2] |= 1 << 31; // running on a hypervisor
        }
        XenCpuidLeaves.query(leaf, subleaf, d.domid, v.id, d.clock.tscHz(), regs);
    }

    // ------------------------------------------------------------------ CpuEnvironment: a PV vCPU has no devices

    @Override
    public int ioRead(int port, int size) {
        return -1;
    }

    @Override
    public void ioWrite(int port, int size, int value) {
    }

    @Override
    public long mmioRead(long gpa, int size) {
        return -1L;
    }

    @Override
    public void mmioWrite(long gpa, int size, long value) {
    }

    /**
     * Asked by the executor at every block boundary, on this vCPU's thread: also the place where a
     * TLB flush requested from another thread (a grant revoked, another vCPU's page-table change)
     * takes effect, at most one block late.
     */
    @Override
    public boolean interruptPending() {
        if (v.tlbFlushRequested) {
            v.tlbFlushRequested = false;
            cpu.flushTlbAll();
        }
        return v.eventEip != 0 && d.events.upcallDeliverable(v.id);
    }

    @Override
    public int acknowledgeInterrupt() {
        return interruptPending() ? EVENT_VECTOR : -1;
    }

    @Override
    public long serviceTimers(long nowNanos) {
        return Long.MAX_VALUE; // PV timers run on the host timer thread
    }
}
