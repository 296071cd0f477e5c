package org.xenj.hypervisor.internal.cpu.diff;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.exec.NoDeviceEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Runs cases on the emulator's {@link Cpu} at CPL 3 with the same linear layout as the native
 * runner: code at CODE_BASE followed by HLT (at CPL 3 it raises #GP(0), which marks the normal end),
 * data at DATA_BASE, and a GDT mirroring the host's user-visible selectors (kernel code 0x10 and
 * data 0x18 at DPL 0, 32-bit user code 0x23 and user data 0x2b at DPL 3, 16 entries as on Linux).
 * One instance is reused across cases.
 */
final class CpuHarness {

    private static final int GDT = 0x0000_1000;
    private static final int SCRATCH = 0x3000_0000;
    private static final long MAX_INSTRUCTIONS = 200_000;

    private final DomainMemory mem;
    private final Cpu cpu;
    private final X87 fpu;

    CpuHarness() {
        MachineMemory machine = new MachineMemory(1 << 20);
        mem = new DomainMemory(machine, 1);
        mem.populate(GDT >>> 12, 1);
        mem.populate(DiffCase.CODE_BASE >>> 12, 1);
        mem.populate(DiffCase.DATA_BASE >>> 12, DiffCase.DATA_MAX >>> 12);
        mem.populate(SCRATCH >>> 12, 1);
        cpu = new Cpu(mem, NoDeviceEnvironment.INSTANCE);
        fpu = new X87(cpu.fpuMemory());
        fpu.setDataSelector(0x2b);
        cpu.setFpu(fpu);
        writeGdt();
    }

    private void writeGdt() {
        long[] gdt = new long[16];
        gdt[2] = descriptor(0x9b, 0); // 0x10 kernel code
        gdt[3] = descriptor(0x93, 0); // 0x18 kernel data
        gdt[4] = descriptor(0xfb, 0); // 0x23 user code (32-bit)
        gdt[5] = descriptor(0xf3, 0); // 0x2b user data
        gdt[6] = descriptor(0xfb, 0); // 0x33 user code (64-bit on the host; readable code either way)
        for (int i = 0; i < gdt.length; i++) {
            mem.write32(GDT + 8L * i, (int) gdt[i]);
            mem.write32(GDT + 8L * i + 4, (int) (gdt[i] >>> 32));
        }
    }

    /** Flat 4 GiB descriptor with the given access byte, 32-bit, 4 KiB granularity. */
    private static long descriptor(int access, int unused) {
        long limitLow = 0xffff, limitHigh = 0xf;
        long flags = 0xc; // G=1, D/B=1
        return limitLow | (long) access << 40 | limitHigh << 48 | flags << 52;
    }

    DiffResult run(DiffCase c) {
        byte[] zeroPage = new byte[4096];
        mem.write(DiffCase.CODE_BASE, zeroPage, 0, 4096);
        mem.write(DiffCase.CODE_BASE, c.code, 0, c.code.length);
        mem.write8(DiffCase.CODE_BASE + c.code.length, 0xF4); // HLT: #GP(0) at CPL 3 marks the end
        for (int p = 0; p < DiffCase.DATA_MAX; p += 4096) {
            mem.write(DiffCase.DATA_BASE + p, zeroPage, 0, 4096);
        }
        mem.write(DiffCase.DATA_BASE, c.data, 0, c.data.length);

        cpu.resetToRealMode();
        cpu.enterFlatProtectedMode32(0);
        cpu.setCr(0, cpu.getCr(0) | Cpu.CR0_NE | Cpu.CR0_MP);
        cpu.setCr(4, Cpu.CR4_OSFXSR | Cpu.CR4_OSXMMEXCPT); // as Linux runs user code
        cpu.setGdtr(GDT, 16 * 8 - 1);
        cpu.loadSegment(Cpu.CS, 0x23);
        for (int s : new int[] {Cpu.SS, Cpu.DS, Cpu.ES}) {
            cpu.loadSegment(s, 0x2b);
        }
        cpu.loadSegment(Cpu.FS, 0);
        cpu.loadSegment(Cpu.GS, 0x2b);
        for (int i = 0; i < 8; i++) {
            cpu.setReg32(i, c.gpr[i]);
        }
        cpu.setEflags(c.eflags);
        cpu.setEip(DiffCase.CODE_BASE);

        fpu.reset();
        mem.write(SCRATCH, c.fpu, 0, 108);
        fpu.execute(0xDD, 0x25, SCRATCH, c.eflags, true, true, 0, 0); // FRSTOR

        java.nio.ByteBuffer xin = FpuImage.le(c.xmm);
        for (int i = 0; i < 16; i++) {
            cpu.setXmm(i / 2, i & 1, xin.getLong(8 * i));
        }
        cpu.setMxcsr(c.mxcsr);

        DiffResult res = new DiffResult();
        int r;
        try {
            r = cpu.runTest(MAX_INSTRUCTIONS);
        } catch (RuntimeException e) {
            throw new IllegalStateException("emulator threw on " + c + ": " + e, e);
        }
        res.eip = cpu.getEip();
        int end = DiffCase.CODE_BASE + c.code.length;
        if (r == 13 && res.eip == end && cpu.lastErrorCode() == 0) {
            r = -1;
        } else if (r == -2) {
            r = 255; // ran out of instructions: the native runner's timeout vector
        } else if (r == -1) {
            r = 254; // HLT "succeeded": cannot happen at CPL 3
        }
        res.vector = r;
        res.errorCode = r >= 0 ? cpu.lastErrorCode() : 0;
        for (int i = 0; i < 8; i++) {
            res.gpr[i] = cpu.getReg32(i);
        }
        res.eflags = cpu.getEflags();
        res.mxcsr = cpu.getMxcsr();
        java.nio.ByteBuffer xout = FpuImage.le(res.xmm);
        for (int i = 0; i < 16; i++) {
            xout.putLong(8 * i, cpu.getXmm(i / 2, i & 1));
        }
        fpu.execute(0xDD, 0x35, SCRATCH, res.eflags, true, true, 0, 0); // FNSAVE
        mem.read(SCRATCH, res.fpu, 0, 108);
        res.data = new byte[c.data.length];
        mem.read(DiffCase.DATA_BASE, res.data, 0, c.data.length);
        return res;
    }

    /** The translator's statistics when it is on (-Dxenj.jit...), else null. */
    String jitStatistics() {
        return cpu.jitStatistics();
    }
}
