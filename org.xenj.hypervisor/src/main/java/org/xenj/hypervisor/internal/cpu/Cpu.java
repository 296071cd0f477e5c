package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.cpu.fpu.FpuMemory;
import org.xenj.hypervisor.internal.cpu.fpu.FpuUnit;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * One IA-32 vCPU: the public face of the class chain (see {@link CpuRegs}). Builders and tests
 * set up state through the accessors here; {@link CpuExecutor} runs it; {@link #runTest} runs it
 * for the differential harness. Not thread-safe: one pCPU thread runs a vCPU at a time.
 */
public final class Cpu extends CpuBlocks {

    /** CPUID leaf 1 EAX (family 6, model 10, stepping 3), for firmware tables that copy it. */
    public static final int SIGNATURE = CPU_SIGNATURE;

    /** Instructions per slice between checks in {@link #runSlice}. */
    private long instructions;
    private final int[] recentEips = new int[16];
    private int recentPos;
    private boolean testMode;

    public Cpu(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
        resetToRealMode();
    }

    // ------------------------------------------------------------------ execution

    /**
     * Executes up to {@code max} instructions, delivering exceptions as they occur; stops early on
     * HLT, triple fault or an instruction that ends the block (IRET, STI, POPF, CR0 writes).
     * Returns the number of instructions executed.
     */
    int runSlice(int max) {
        return runSlice(max, max);
    }

    /**
     * Like {@link #runSlice(int)}, but a block begun before {@code max} instructions runs to its
     * end (at most {@link CpuBlocks#MAX_INSNS} more): the scheduler's slice is a budget, not an
     * exact count. Cutting blocks at an exact count made the next slice start in the middle of
     * one, so a hot loop was recorded again at ever other entry points (blocks truncated at the
     * cut, evictions, compiled code refused by its "enough of the slice left" guard and replayed).
     */
    int runSliceToBlockEnd(int max) {
        return runSlice(max, max + MAX_INSNS);
    }

    private int runSlice(int max, int limit) {
        if ((flags & TF) != 0) {
            return runSingleStep(max);
        }
        stopBlock = false;
        recentEips[recentPos++ & 15] = eip;
        newEpoch();
        sliceDone = 0;
        while (sliceDone < max && !stopBlock) {
            try {
                while (sliceDone < max && !stopBlock) {
                    runBlock(max, limit);
                }
            } catch (CpuFault f) {
                unlockRmw(); // never keep a locked read-modify-write's line locked past a fault
                sliceDone++;
                eip = startEip;
                exception(faultVector, faultError);
                if (tripleFault) {
                    stopBlock = true;
                }
            }
        }
        int done = sliceDone;
        instructions += done;
        return done;
    }

    /** EFLAGS.TF: a #DB trap after every instruction that started with TF set. */
    private int runSingleStep(int max) {
        stopBlock = false;
        int done = 0;
        while (done < max && !stopBlock && (flags & TF) != 0) {
            try {
                execute(decode());
                orderPoint();
                done++;
            } catch (CpuFault f) {
                unlockRmw(); // never keep a locked read-modify-write's line locked past a fault
                done++;
                eip = startEip;
                exception(faultVector, faultError);
                continue; // a faulting instruction does not complete: no single-step trap
            }
            dr[6] |= 0x4000; // BS
            exception(DB, 0);
            if (tripleFault) {
                stopBlock = true;
            }
        }
        instructions += done;
        return done;
    }

    /** {@link #emulateCapturingStores}: the instruction completed and its stores were committed. */
    public static final int EMULATED = 0;
    /** {@link #emulateCapturingStores}: not emulated (a store Xen's emulator refuses, or the commit said no); state undone. */
    public static final int REFUSED = 1;
    /** {@link #emulateCapturingStores}: it raised another exception ({@link #lastFaultVector}, {@link #lastErrorCode}, CR2); state undone. */
    public static final int FAULTED = 2;

    private final int[] emulationSavedRegs = new int[8];

    /**
     * Re-executes the instruction at EIP once with the data accesses to {@code cap}'s linear page
     * going to the capture instead of memory (PV writable page tables: the instruction faulted on a
     * store into a read-only page-table page). Called from the #PF delivery hook, so it never
     * throws: the general registers, EIP and EFLAGS are restored unless the result is {@link #EMULATED}.
     * x87, FXSAVE and MMX/SSE stores are refused (their register state could not be undone).
     */
    public int emulateCapturingStores(StoreCapture cap) {
        System.arraycopy(regs, 0, emulationSavedRegs, 0, 8);
        int savedEip = eip;
        int savedFlags = eflags();
        int savedCr2 = cr2;
        invlpg(cap.page); // the page's reads must miss the TLB and reach the capture
        capture = cap;
        capturePage = cap.page;
        int result;
        try {
            int op = decode();
            if (op >= 0xd8 && op <= 0xdf || op == 0x1ae || isSimdOpcode(op)) {
                result = REFUSED;
            } else {
                execute(op);
                capturePage = 1;
                result = cap.commit(op) ? EMULATED : REFUSED;
            }
        } catch (CpuFault f) {
                unlockRmw(); // never keep a locked read-modify-write's line locked past a fault
            result = cap.refused ? REFUSED : FAULTED;
        } finally {
            capturePage = 1;
            capture = null;
        }
        if (result != EMULATED) {
            System.arraycopy(emulationSavedRegs, 0, regs, 0, 8);
            eip = savedEip;
            writeFlags(savedFlags, EFLAGS_MASK);
            if (result == REFUSED) {
                cr2 = savedCr2;
            }
        }
        breakEpoch();
        return result;
    }

    /** Vector of the last exception the CPU raised (see {@link #emulateCapturingStores}). */
    public int lastFaultVector() {
        return faultVector;
    }

    /** Delivers an external interrupt vector now (the executor checked IF and the shadow). */
    void deliverExternal(int vector) {
        halted = false;
        deliverEvent(vector, DeliveryHook.EXTERNAL_INT);
    }

    /**
     * Delivers an NMI now (vector 2, whatever IF says) and blocks further NMIs until an IRET;
     * wakes a halted vCPU. The executor checks {@link #nmiBlocked()} first.
     */
    void deliverNmi() {
        halted = false;
        nmiBlocked = true;
        deliverEvent(NMI, DeliveryHook.EXTERNAL_INT);
    }

    /** Whether an NMI handler runs (no IRET since the last NMI). */
    public boolean nmiBlocked() {
        return nmiBlocked;
    }

    /**
     * INIT: the power-on register state at F000:FFF0. Hardware would keep the x87/SSE registers
     * across INIT (SDM vol. 3, table 9-1); they are reset too here — what follows an INIT (a
     * STARTUP IPI's trampoline, firmware) initialises them before use.
     */
    public void init() {
        resetToRealMode();
        nmiBlocked = false;
    }

    /**
     * A STARTUP IPI with {@code vector}: the AP leaves wait-for-SIPI and starts in real mode at
     * vector:0000, i.e. physical address vector &lt;&lt; 12 (SDM vol. 3, 8.4.4.1).
     */
    public void startAtSipiVector(int vector) {
        resetToRealMode();
        setSegRaw(CS, (vector & 0xff) << 8, (vector & 0xff) << 12, 0xffff, 0x9b);
        eip = 0;
    }

    /**
     * For the differential harness: runs in the current mode until HLT (returns -1), {@code
     * maxInstructions} executed (returns -2), or the first exception, which is not delivered: its
     * vector is returned ({@link #lastErrorCode()} has its error code) and EIP points at the
     * faulting instruction. Software interrupts (INT n, INT3, INTO) count as exceptions here.
     */
    public int runTest(long maxInstructions) {
        testMode = true;
        halted = false;
        setActive(true); // as the run loop: other vCPUs of the domain then wait for this one's sync (SharedCode)
        try {
            long n = 0;
            while (n < maxInstructions) {
                // through the block cache, so that the unit and differential tests exercise it too
                stopBlock = false;
                sliceDone = 0;
                newEpoch();
                try {
                    int chunk = (int) Math.min(maxInstructions - n, 1 << 20);
                    runBlock(chunk, chunk);
                } catch (CpuFault f) {
                unlockRmw(); // never keep a locked read-modify-write's line locked past a fault
                    instructions += sliceDone;
                    eip = startEip;
                    return faultVector;
                }
                n += sliceDone;
                instructions += sliceDone;
                if (halted) {
                    halted = false;
                    return -1;
                }
            }
            return -2;
        } finally {
            setActive(false);
            testMode = false;
        }
    }

    /** Test mode turns software interrupts into a stop (see {@link #runTest}). */
    @Override
    boolean interceptSoftwareInterrupt(int vector) {
        if (testMode) {
            eip = startEip;
            throw fault(vector, 0);
        }
        return false;
    }

    public int lastErrorCode() {
        return faultError;
    }

    public long instructionCount() {
        return instructions;
    }

    public boolean isHalted() {
        return halted;
    }

    public boolean tripleFaulted() {
        return tripleFault;
    }

    public boolean interruptsEnabled() {
        return (flags & IF) != 0;
    }

    // ------------------------------------------------------------------ state for builders and tests

    public int getReg32(int idx) {
        return regs[idx];
    }

    public void setReg32(int idx, int v) {
        regs[idx] = v;
    }

    public int getEip() {
        return eip;
    }

    public void setEip(int v) {
        eip = v;
    }

    public int getEflags() {
        return eflags();
    }

    public void setEflags(int v) {
        boolean vmChanged = ((flags ^ v) & VM) != 0;
        writeFlags(v, EFLAGS_MASK);
        if (vmChanged) {
            for (int s = 0; s < 6; s++) {
                computeRanges(s);
            }
        }
    }

    /** Debug register {@code n} (DR0-DR7; DR4/5 are not aliased here). */
    public int getDr(int n) {
        return dr[n & 7];
    }

    public int getCpl() {
        return cpl;
    }

    /** Control registers, for the hypervisor's own walk of an HVM guest's page tables (hypercall pointers). */
    public int getCr0() {
        return cr0;
    }

    public int getCr3() {
        return cr3;
    }

    public int getCr4() {
        return cr4;
    }

    /** EFER.NXE: PAE entries' bit 63 is execute-disable rather than reserved (the hypervisor's walks must agree). */
    public boolean noExecuteEnabled() {
        return (efer & CpuSystem.EFER_NXE) != 0;
    }

    public int getSegSelector(int seg) {
        return segSel[seg];
    }

    public int getSegBase(int seg) {
        return segBase[seg];
    }

    public int getSegLimit(int seg) {
        return segLimit[seg];
    }

    public int getCr(int n) {
        return n == 0 ? cr0 : n == 2 ? cr2 : n == 3 ? cr3 : n == 4 ? cr4 : 0;
    }

    public void setCr(int n, int v) {
        try {
            writeCr(n, v);
        } catch (CpuFault f) {
                unlockRmw(); // never keep a locked read-modify-write's line locked past a fault
            throw new IllegalArgumentException("invalid value 0x" + Integer.toHexString(v) + " for CR" + n);
        }
    }

    public void setGdtr(int base, int limit) {
        gdtrBase = base;
        gdtrLimit = limit & 0xffff;
    }

    public void setIdtr(int base, int limit) {
        idtrBase = base;
        idtrLimit = limit & 0xffff;
    }

    /** Loads a flat 4 GiB segment (base 0, 32-bit, DPL = selector's RPL) without touching the GDT. */
    public void loadSegmentFlat32(int seg, int selector, boolean code) {
        int dplBits = (selector & 3) << 5;
        setSegRaw(seg, selector, 0, -1, (code ? 0xc09b : 0xc093) | dplBits);
    }

    /**
     * Descriptor-correct load of a segment register from the GDT/LDT in guest memory (for
     * builders). CS takes the CPL from the selector's RPL. Throws IllegalArgumentException when the
     * descriptor is not acceptable.
     */
    public void loadSegment(int seg, int selector) {
        try {
            if (!protectedMode() || v86()) {
                loadSegReal(seg, selector);
            } else if (seg == CS) {
                readDescriptor(selector, GP);
                if (!isCode(descHi) || !present(descHi)) {
                    throw fault(GP, selector);
                }
                setCpl(selector & 3);
                setSegCache(CS, selector, descLo, descHi);
            } else if (seg == SS) {
                loadStackSeg(selector, GP, cpl);
            } else {
                loadDataSeg(seg, selector, GP);
            }
        } catch (CpuFault f) {
                unlockRmw(); // never keep a locked read-modify-write's line locked past a fault
            throw new IllegalArgumentException("cannot load selector 0x" + Integer.toHexString(selector) + " into segment " + seg
                    + ": exception " + faultVector + " error " + faultError);
        }
    }

    /** Power-on state: real mode at F000:FFF0 (linear 0xFFFFFFF0). */
    public void resetToRealMode() {
        java.util.Arrays.fill(regs, 0);
        regs[EDX] = CPU_SIGNATURE;
        lfOp = LF_NONE;
        flags = 2;
        cr0 = CR0_ET | CR0_CD | CR0_NW;
        cr2 = cr3 = cr4 = 0;
        java.util.Arrays.fill(dr, 0);
        dr[6] = 0xffff0ff0;
        dr[7] = 0x400;
        gdtrBase = idtrBase = 0;
        gdtrLimit = idtrLimit = 0xffff;
        ldtrSel = ldtrBase = 0;
        ldtrLimit = 0xffff;
        trSel = trBase = 0;
        trLimit = 0xffff;
        trAttr = 0x8b;
        setCpl(0);
        for (int s = 0; s < 6; s++) {
            setSegRaw(s, 0, 0, 0xffff, 0x93);
        }
        setSegRaw(CS, 0xf000, 0xffff0000, 0xffff, 0x9b);
        eip = 0xfff0;
        halted = false;
        tripleFault = false;
        tripleFaultReason = null;
        interruptShadow = false;
        flushTlb(true);
        if (fpu != null) {
            fpu.reset();
        }
        resetSimd();
    }

    /** CR0.PE=1 with flat 4 GiB 32-bit segments (CS 0x10, data 0x18, RPL = cpl), paging off, IF=0. */
    public void enterFlatProtectedMode32(int cpl) {
        cr0 = (cr0 | CR0_PE) & ~(CR0_PG | CR0_CD | CR0_NW);
        flushTlb(true);
        setCpl(cpl);
        loadSegmentFlat32(CS, 0x10 | cpl, true);
        for (int s : new int[] {ES, SS, DS, FS, GS}) {
            loadSegmentFlat32(s, 0x18 | cpl, false);
        }
        flags = 2;
        lfOp = LF_NONE;
    }

    /** Every piece of architectural state, between instructions (see {@link CpuState}). */
    public CpuState saveState() {
        return CpuSnapshots.save(this);
    }

    /** Puts this vCPU in {@code state}; caches are dropped and rebuilt from guest memory. */
    public void restoreState(CpuState state) {
        CpuSnapshots.restore(this, state);
    }

    /** Half {@code half} (0 = bits 63..0, 1 = bits 127..64) of XMM{@code i}. */
    public long getXmm(int i, int half) {
        return xmm[2 * (i & 7) + (half & 1)];
    }

    public void setXmm(int i, int half, long v) {
        xmm[2 * (i & 7) + (half & 1)] = v;
    }

    public int getMxcsr() {
        return mxcsr;
    }

    /** Sets MXCSR (builders, tests); a reserved bit is refused as LDMXCSR would. */
    public void setMxcsr(int v) {
        if ((v & ~org.xenj.hypervisor.internal.cpu.fpu.X87.MXCSR_MASK) != 0) {
            throw new IllegalArgumentException("reserved MXCSR bits in 0x" + Integer.toHexString(v));
        }
        mxcsr = v;
    }

    public void setFpu(FpuUnit unit) {
        fpu = unit;
        x87 = unit instanceof org.xenj.hypervisor.internal.cpu.fpu.X87 x ? x : null; // MMX aliasing, SSE
    }

    public FpuUnit fpu() {
        return fpu;
    }

    /**
     * Halts the vCPU from outside an instruction (a PV guest's SCHEDOP_block or emulated HLT):
     * the current block ends and the executor reports BLOCKED until an interrupt is deliverable.
     */
    public void halt() {
        halted = true;
        stopBlock = true;
    }

    /** Leaves the halted state without an interrupt (a PV vCPU started or brought back up by VCPUOP_up). */
    public void unhalt() {
        halted = false;
    }

    /** Ends the current block after this instruction (state changed behind the CPU's back, e.g. by a hypercall). */
    public void endBlock() {
        stopBlock = true;
    }

    /** Forgets cached translations (a PV guest's TLB flush or new page-table base by hypercall). */
    public void flushTlbAll() {
        flushTlb(true);
        stopBlock = true;
    }

    public void setDeliveryHook(DeliveryHook hook) {
        deliveryHook = hook;
    }

    public void setHypercallHandler(HypercallHandler handler) {
        hypercallHandler = handler;
    }

    public void setCpuidHook(CpuidHook hook) {
        cpuidHook = hook;
    }

    /** The domain's virtual clock, which the TSC follows (set before the vCPU runs). */
    public void setClock(org.xenj.hypervisor.internal.exec.VirtualClock clock) {
        this.clock = java.util.Objects.requireNonNull(clock);
    }

    /** Whether CPUID advertises a local APIC (the platform supplies it at 0xFEE00000 through MMIO). */
    public void setApicPresent(boolean present, int apicId) {
        this.apicPresent = present;
        this.apicId = apicId;
    }

    // ------------------------------------------------------------------ linear memory for tests and hooks

    public int readLinear8(int lin) {
        return read8(lin);
    }

    public int readLinear16(int lin) {
        return read16(lin);
    }

    public int readLinear32(int lin) {
        return read32(lin);
    }

    public void writeLinear8(int lin, int v) {
        write8(lin, v);
    }

    public void writeLinear16(int lin, int v) {
        write16(lin, v);
    }

    public void writeLinear32(int lin, int v) {
        checkWritable(lin, 4);
        write32(lin, v);
    }

    // ------------------------------------------------------------------ x87 memory

    private final FpuMemory fpuMemory = new FpuMemory() {
        @Override
        public int readByte(int linear) {
            return read8(linear);
        }

        @Override
        public int readWord(int linear) {
            return read16(linear);
        }

        @Override
        public int readDword(int linear) {
            return read32(linear);
        }

        @Override
        public long readQword(int linear) {
            return (read32(linear) & 0xffffffffL) | ((long) read32(linear + 4) << 32);
        }

        @Override
        public void writeByte(int linear, int value) {
            write8(linear, value);
        }

        @Override
        public void writeWord(int linear, int value) {
            write16(linear, value);
        }

        @Override
        public void writeDword(int linear, int value) {
            write32(linear, value);
        }

        @Override
        public void writeQword(int linear, long value) {
            checkWritable(linear, 8);
            write32(linear, (int) value);
            write32(linear + 4, (int) (value >>> 32));
        }
    };

    /** The memory the x87 unit is constructed with. */
    public FpuMemory fpuMemory() {
        return fpuMemory;
    }

    // ------------------------------------------------------------------ diagnostics

    /** A multi-line dump of the architectural state (for crash logs and dmesg). */
    public String stateString() {
        StringBuilder b = new StringBuilder(1024);
        String[] names = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
        for (int i = 0; i < 8; i++) {
            b.append(names[i]).append('=').append(hex(regs[i])).append(i == 3 || i == 7 ? "\n" : " ");
        }
        b.append("EIP=").append(hex(eip)).append(" EFLAGS=").append(hex(eflags())).append(" CPL=").append(cpl)
                .append(halted ? " halted" : "").append('\n');
        String[] seg = {"ES", "CS", "SS", "DS", "FS", "GS"};
        for (int s = 0; s < 6; s++) {
            b.append(seg[s]).append('=').append(String.format("%04x", segSel[s])).append(" base=").append(hex(segBase[s]))
                    .append(" limit=").append(hex(segLimit[s])).append(" attr=").append(String.format("%04x", segAttr[s])).append('\n');
        }
        b.append("CR0=").append(hex(cr0)).append(" CR2=").append(hex(cr2)).append(" CR3=").append(hex(cr3))
                .append(" CR4=").append(hex(cr4)).append('\n');
        b.append("GDT=").append(hex(gdtrBase)).append('/').append(Integer.toHexString(gdtrLimit))
                .append(" IDT=").append(hex(idtrBase)).append('/').append(Integer.toHexString(idtrLimit))
                .append(" LDTR=").append(String.format("%04x", ldtrSel)).append(" TR=").append(String.format("%04x", trSel))
                .append(" base=").append(hex(trBase)).append('\n');
        b.append("last instruction at ").append(hex(startEip)).append(", recent block starts:");
        for (int i = 0; i < 16; i++) {
            b.append(' ').append(hex(recentEips[(recentPos + i) & 15]));
        }
        b.append("\ninstructions=").append(instructions).append(" blocks from cache=").append(blockHits).append(" decoded=")
                .append(blockBuilds).append(" evicted=").append(blockEvictions);
        String jitStats = jitStatistics();
        if (jitStats != null) {
            b.append('\n').append(jitStats);
        }
        if (tripleFaultReason != null) {
            b.append('\n').append(tripleFaultReason);
        }
        return b.toString();
    }

    private static String hex(int v) {
        return String.format("%08x", v);
    }

    @Override
    public String toString() {
        return stateString();
    }
}
