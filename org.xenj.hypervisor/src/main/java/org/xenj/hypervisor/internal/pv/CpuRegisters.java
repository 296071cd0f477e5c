package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.hypercall.GuestRegisters;

/** The hypercall layer's view of a running {@link Cpu}'s registers. */
final class CpuRegisters implements GuestRegisters {

    private static final int CS = 1;
    private static final int SS = 2;

    private final Cpu cpu;

    CpuRegisters(Cpu cpu) {
        this.cpu = cpu;
    }

    @Override
    public int get(int reg) {
        return cpu.getReg32(reg);
    }

    @Override
    public void set(int reg, int value) {
        cpu.setReg32(reg, value);
    }

    @Override
    public int eip() {
        return cpu.getEip();
    }

    @Override
    public void setEip(int eip) {
        cpu.setEip(eip);
    }

    @Override
    public int eflags() {
        return cpu.getEflags();
    }

    @Override
    public void setEflags(int eflags) {
        cpu.setEflags(eflags);
    }

    @Override
    public int cs() {
        return cpu.getSegSelector(CS);
    }

    @Override
    public int ss() {
        return cpu.getSegSelector(SS);
    }

    /** Loads CS then SS through the GDT; a bad selector is an IllegalArgumentException (the caller falls back to the failsafe callback). */
    @Override
    public void loadSegments(int cs, int ss) {
        cpu.loadSegment(CS, cs);
        cpu.loadSegment(SS, ss);
    }
}
