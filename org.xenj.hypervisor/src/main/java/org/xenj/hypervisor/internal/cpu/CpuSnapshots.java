package org.xenj.hypervisor.internal.cpu;

/**
 * Takes a vCPU's {@link CpuState} and puts one back. Restoring goes through the CPU's own setters
 * for what has derived state (segment caches and their access ranges, CS size for the decoder, the
 * TLB selected by CPL), then drops every cache: TLB, fetch window and decoded blocks are rebuilt from
 * guest memory. Call both only between instructions, with the vCPU not running.
 */
final class CpuSnapshots {

    private CpuSnapshots() {
    }

    static CpuState save(Cpu c) {
        if (c.x87 != null) {
            c.x87.setMxcsr(c.mxcsr); // the CPU owns MXCSR; the unit's record carries it
        }
        return new CpuState(c.regs, c.eip, c.eflags(), c.segSel, c.segBase, c.segLimit, c.segAttr, c.cpl, c.cr0, c.cr2, c.cr3,
                c.cr4, c.dr, c.gdtrBase, c.gdtrLimit, c.idtrBase, c.idtrLimit, c.ldtrSel, c.ldtrBase, c.ldtrLimit, c.trSel,
                c.trBase, c.trLimit, c.trAttr, c.sysenterCs, c.sysenterEsp, c.sysenterEip, c.pat, c.mtrrDefType, c.mtrrFixed,
                c.mtrrVar, c.miscEnable, c.tscOffset, c.tscAux, c.efer, c.halted, c.interruptShadow, c.tripleFault, c.nmiBlocked,
                c.fpu == null ? null : c.fpu.saveState(), c.xmm);
    }

    static void restore(Cpu c, CpuState s) {
        if ((s.fpu() == null) != (c.fpu == null)) {
            throw new IllegalArgumentException("the CPU state " + (s.fpu() == null ? "has no" : "has an")
                    + " x87 unit; this vCPU " + (c.fpu == null ? "has none" : "has one"));
        }
        System.arraycopy(s.gpr(), 0, c.regs, 0, 8);
        c.eip = s.eip();
        c.lfOp = CpuRegs.LF_NONE;
        c.flags = (s.eflags() & CpuRegs.EFLAGS_MASK) | 2;
        c.cr0 = s.cr0();
        c.cr2 = s.cr2();
        c.cr3 = s.cr3();
        c.cr4 = s.cr4();
        System.arraycopy(s.dr(), 0, c.dr, 0, 8);
        c.gdtrBase = s.gdtrBase();
        c.gdtrLimit = s.gdtrLimit();
        c.idtrBase = s.idtrBase();
        c.idtrLimit = s.idtrLimit();
        c.ldtrSel = s.ldtrSel();
        c.ldtrBase = s.ldtrBase();
        c.ldtrLimit = s.ldtrLimit();
        c.trSel = s.trSel();
        c.trBase = s.trBase();
        c.trLimit = s.trLimit();
        c.trAttr = s.trAttr();
        c.sysenterCs = s.sysenterCs();
        c.sysenterEsp = s.sysenterEsp();
        c.sysenterEip = s.sysenterEip();
        c.pat = s.pat();
        c.mtrrDefType = s.mtrrDefType();
        System.arraycopy(s.mtrrFixed(), 0, c.mtrrFixed, 0, c.mtrrFixed.length);
        System.arraycopy(s.mtrrVar(), 0, c.mtrrVar, 0, c.mtrrVar.length);
        c.miscEnable = s.miscEnable();
        c.tscOffset = s.tscOffset();
        c.tscAux = s.tscAux();
        c.efer = s.efer();
        c.setNoExecuteEnabled((s.efer() & CpuSystem.EFER_NXE) != 0);
        c.halted = s.halted();
        c.interruptShadow = s.interruptShadow();
        c.nmiBlocked = s.nmiBlocked();
        c.tripleFault = s.tripleFault();
        c.tripleFaultReason = s.tripleFault() ? "restored in the triple-fault state" : null;
        c.setCpl(s.cpl());
        int[] sel = s.segSel(), base = s.segBase(), limit = s.segLimit(), attr = s.segAttr();
        for (int seg = 0; seg < 6; seg++) {
            c.setSegRaw(seg, sel[seg], base[seg], limit[seg], attr[seg]);
        }
        if (c.fpu != null) {
            c.fpu.restoreState(s.fpu());
            c.mxcsr = s.fpu().mxcsr() & org.xenj.hypervisor.internal.cpu.fpu.X87.MXCSR_MASK;
        }
        System.arraycopy(s.xmm(), 0, c.xmm, 0, 16);
        c.flushTlbAll();
    }
}
