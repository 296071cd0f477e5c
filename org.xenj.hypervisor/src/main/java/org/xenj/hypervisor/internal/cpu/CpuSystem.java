package org.xenj.hypervisor.internal.cpu;

import java.nio.charset.StandardCharsets;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.VirtualClock;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.timer.HostClock;

/**
 * System instructions: control and debug registers, descriptor-table registers, CPUID, MSRs,
 * time stamp counter, SYSENTER/SYSEXIT, and the protected-mode checks they need.
 */
abstract class CpuSystem extends CpuExec {

    static final int MSR_TSC = 0x10, MSR_PLATFORM_ID = 0x17, MSR_TSC_ADJUST = 0x3b, MSR_APIC_BASE = 0x1b,
            MSR_UCODE_REV = 0x8b, MSR_MTRRCAP = 0xfe, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175,
            MSR_SYSENTER_EIP = 0x176, MSR_MISC_ENABLE = 0x1a0, MSR_MTRR_PHYS_BASE0 = 0x200, MSR_MTRR_FIX64K = 0x250,
            MSR_MTRR_FIX16K_80000 = 0x258, MSR_MTRR_FIX16K_A0000 = 0x259, MSR_MTRR_FIX4K_C0000 = 0x268, MSR_PAT = 0x277,
            MSR_MTRR_DEF_TYPE = 0x2ff;

    /** CPUID leaf 1 EDX bits. */
    static final int FEAT_FPU = 1, FEAT_DE = 1 << 2, FEAT_PSE = 1 << 3, FEAT_TSC = 1 << 4, FEAT_MSR = 1 << 5,
            FEAT_PAE = 1 << 6, FEAT_CX8 = 1 << 8, FEAT_APIC = 1 << 9, FEAT_SEP = 1 << 11, FEAT_MTRR = 1 << 12,
            FEAT_PGE = 1 << 13, FEAT_CMOV = 1 << 15, FEAT_PAT = 1 << 16, FEAT_CLFSH = 1 << 19, FEAT_MMX = 1 << 23,
            FEAT_FXSR = 1 << 24, FEAT_SSE = 1 << 25, FEAT_SSE2 = 1 << 26;

    /**
     * Family 6, model 10, stepping 3: a P6-class model Linux has no PMU or erratum table entry for,
     * so it neither probes performance-counter MSRs we do not have nor applies model quirks.
     */
    static final int CPU_SIGNATURE = 0x6a3;
    /** Up to the TSC/crystal (0x15) and frequency (0x16) leaves; leaves 3-0x14 read as zeros (no feature). */
    static final int MAX_BASIC_LEAF = 0x16;
    static final int LEAF7_EBX_TSC_ADJUST = 1 << 1;
    /** Invariant TSC: Linux then sets constant_tsc and nonstop_tsc. */
    static final int EXT7_EDX_INVARIANT_TSC = 1 << 8;
    /** CPUID 8000_0001h EDX: RDTSCP and IA32_TSC_AUX. */
    static final int EXT1_EDX_RDTSCP = 1 << 27;
    /** IA32_EFER (only NXE offered: no long mode, no SYSCALL) and IA32_TSC_AUX. */
    static final int MSR_EFER = 0xc0000080, MSR_TSC_AUX = 0xc0000103;
    /** EFER.NXE: execute-disable bits in PAE page tables. */
    static final long EFER_NXE = 1L << 11;
    /** CPUID 0x80000001 EDX: execute disable (NX). */
    static final int EXT1_EDX_NX = 1 << 20;
    private static final byte[] BRAND = "xenj virtual IA-32 CPU\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
            .substring(0, 48).getBytes(StandardCharsets.US_ASCII);

    boolean apicPresent;
    int apicId;
    CpuidHook cpuidHook;
    /**
     * The domain's virtual clock: every vCPU of a domain shares it, so their TSCs are synchronised
     * (Linux checks on SMP). Builders set it; the default only serves CPUs built alone (tests).
     */
    VirtualClock clock = new HostClock();
    final int[] cpuidOut = new int[4];
    private final long[] msrOut = new long[1];

    CpuSystem(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    final void requireCpl0() {
        if (protectedMode() && (cpl != 0 || v86())) {
            throw fault(GP, 0);
        }
    }

    final void requireProtected() {
        if (!protectedMode() || v86()) {
            throw fault(UD, 0);
        }
    }

    // ------------------------------------------------------------------ control registers

    final int readCr(int n) {
        switch (n) {
            case 0: return cr0;
            case 2: return cr2;
            case 3: return cr3;
            case 4: return cr4;
            default: throw fault(UD, 0);
        }
    }

    static final int CR4_SUPPORTED = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

    final void writeCr(int n, int v) {
        switch (n) {
            case 0 -> {
                if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) {
                    throw fault(GP, 0);
                }
                if ((v & CR0_NW) != 0 && (v & CR0_CD) == 0) {
                    throw fault(GP, 0);
                }
                int old = cr0;
                cr0 = v | CR0_ET;
                if (((old ^ cr0) & (CR0_PG | CR0_WP | CR0_PE)) != 0) {
                    flushTlb(true);
                }
                if (((old ^ cr0) & CR0_PE) != 0) {
                    for (int s = 0; s < 6; s++) {
                        computeRanges(s);
                    }
                    if ((cr0 & CR0_PE) == 0) {
                        setCpl(0);
                    }
                    stopBlock = true;
                }
            }
            case 2 -> cr2 = v;
            case 3 -> {
                cr3 = v;
                flushTlb(false);
            }
            case 4 -> {
                if ((v & ~CR4_SUPPORTED) != 0) {
                    throw fault(GP, 0);
                }
                int old = cr4;
                cr4 = v;
                if (((old ^ v) & (CR4_PSE | CR4_PAE | CR4_PGE)) != 0) {
                    flushTlb(true);
                }
            }
            default -> throw fault(UD, 0);
        }
    }

    final int readDr(int n) {
        if ((n == 4 || n == 5) && (cr4 & CR4_DE) == 0) {
            n += 2;
        } else if (n == 4 || n == 5) {
            throw fault(UD, 0);
        }
        if (n == 6) {
            return dr[6] | 0xffff0ff0;
        }
        if (n == 7) {
            return dr[7] | 0x400;
        }
        return dr[n];
    }

    final void writeDr(int n, int v) {
        if ((n == 4 || n == 5) && (cr4 & CR4_DE) == 0) {
            n += 2;
        } else if (n == 4 || n == 5) {
            throw fault(UD, 0);
        }
        dr[n] = v;
    }

    // ------------------------------------------------------------------ descriptor tables

    final void lgdtLidt(boolean idt) {
        requireMem();
        requireCpl0();
        int limit = readMem(16, eaSeg, eaOff);
        int base = readMem(32, eaSeg, eaPlus(2));
        if (!o32) {
            base &= 0xffffff;
        }
        if (idt) {
            idtrBase = base;
            idtrLimit = limit;
        } else {
            gdtrBase = base;
            gdtrLimit = limit;
        }
    }

    final void sgdtSidt(boolean idt) {
        requireMem();
        int lin = linW(eaSeg, eaOff, 6);
        checkWritable(lin, 6);
        write16(lin, idt ? idtrLimit : gdtrLimit);
        write32(lin + 2, idt ? idtrBase : gdtrBase);
    }

    final void lldt(int sel) {
        requireProtected();
        requireCpl0();
        if ((sel & 0xfffc) == 0) {
            ldtrSel = sel;
            ldtrBase = 0;
            ldtrLimit = 0;
            return;
        }
        if ((sel & 4) != 0) {
            throw fault(GP, sel & 0xfffc);
        }
        readDescriptor(sel, GP);
        if (((descHi >>> 8) & 0x1f) != 2) {
            throw fault(GP, sel & 0xfffc);
        }
        if (!present(descHi)) {
            throw fault(NP, sel & 0xfffc);
        }
        ldtrSel = sel;
        ldtrBase = descBase(descLo, descHi);
        ldtrLimit = descLimit(descLo, descHi);
    }

    final void ltr(int sel) {
        requireProtected();
        requireCpl0();
        if ((sel & 0xfffc) == 0 || (sel & 4) != 0) {
            throw fault(GP, sel & 0xfffc);
        }
        readDescriptor(sel, GP);
        int type = (descHi >>> 8) & 0x1f;
        if (type != 1 && type != 9) {
            throw fault(GP, sel & 0xfffc);
        }
        if (!present(descHi)) {
            throw fault(NP, sel & 0xfffc);
        }
        descHi |= 0x200;
        sysWrite32(descAddr + 4, descHi);
        trSel = sel;
        trBase = descBase(descLo, descHi);
        trLimit = descLimit(descLo, descHi);
        trAttr = descAttr(descHi);
    }

    /**
     * LAR/LSL/VERR/VERW helper: reads the descriptor of {@code sel} if it is visible at the current
     * privilege; returns false (ZF=0) otherwise, never faulting on a bad selector.
     */
    final boolean probeDescriptor(int sel, boolean forLsl) {
        if ((sel & 0xfffc) == 0) {
            return false;
        }
        int index = sel & 0xfff8;
        if ((sel & 4) != 0 ? (ldtrSel & 0xfffc) == 0 || index + 7 > (ldtrLimit & 0xffffffffL) : index + 7 > (gdtrLimit & 0xffff)) {
            return false;
        }
        readDescriptor(sel, GP);
        int hi = descHi;
        int type = (hi >>> 8) & 0x1f;
        if ((type & 0x10) == 0) {
            boolean ok = forLsl ? (type == 1 || type == 2 || type == 3 || type == 9 || type == 0xb)
                    : (type == 1 || type == 2 || type == 3 || type == 4 || type == 5 || type == 9 || type == 0xb || type == 0xc);
            if (!ok) {
                return false;
            }
        } else if ((type & 0x1c) == 0x1c) {
            return true; // conforming code: no privilege check
        }
        return dpl(hi) >= cpl && dpl(hi) >= (sel & 3);
    }

    // ------------------------------------------------------------------ CPUID

    final void cpuid() {
        // serializing: code written through another linear mapping is seen from here on (SDM 8.1.3)
        breakEpoch();
        int leaf = regs[EAX];
        int sub = regs[ECX];
        int[] r = cpuidOut;
        r[0] = r[1] = r[2] = r[3] = 0;
        switch (leaf) {
            case 0 -> {
                r[0] = MAX_BASIC_LEAF;
                r[1] = 0x756e6547; // "Genu"
                r[3] = 0x49656e69; // "ineI"
                r[2] = 0x6c65746e; // "ntel"
            }
            case 1 -> {
                r[0] = CPU_SIGNATURE;
                r[1] = (apicId << 24) | (8 << 8);
                int edx = FEAT_FPU | FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_PAE | FEAT_CX8 | FEAT_SEP
                        | FEAT_MTRR | FEAT_PGE | FEAT_CMOV | FEAT_PAT | FEAT_CLFSH;
                if (apicPresent) {
                    edx |= FEAT_APIC;
                }
                if (fpu == null) {
                    edx &= ~FEAT_FPU;
                } else {
                    edx |= FEAT_FXSR;
                    if (fpu instanceof org.xenj.hypervisor.internal.cpu.fpu.X87) {
                        // MMX, SSE, SSE2: 0 mismatches against the host CPU (tests/cpu-diff-report.sh, SimdCases)
                        edx |= FEAT_MMX | FEAT_SSE | FEAT_SSE2;
                    }
                }
                r[3] = edx;
            }
            case 2 -> r[0] = 1; // one iteration, no cache descriptors
            case 7 -> r[1] = sub == 0 ? LEAF7_EBX_TSC_ADJUST : 0;
            case 0x15 -> tscLeaf(r);
            case 0x16 -> {
                // base and maximum core frequency = TSC frequency, bus = APIC timer input, in MHz
                r[0] = r[1] = (int) (clock.tscHz() / 1_000_000);
                r[2] = (int) (VirtualClock.APIC_BUS_HZ / 1_000_000);
            }
            case 0x80000000 -> r[0] = 0x80000007;
            case 0x80000001 -> r[3] = EXT1_EDX_RDTSCP | EXT1_EDX_NX;
            case 0x80000007 -> r[3] = EXT7_EDX_INVARIANT_TSC;
            case 0x80000002, 0x80000003, 0x80000004 -> {
                int base = (leaf - 0x80000002) * 16;
                for (int i = 0; i < 4; i++) {
                    r[i] = (BRAND[base + 4 * i] & 0xff) | (BRAND[base + 4 * i + 1] & 0xff) << 8
                            | (BRAND[base + 4 * i + 2] & 0xff) << 16 | (BRAND[base + 4 * i + 3] & 0xff) << 24;
                }
            }
            default -> { }
        }
        CpuidHook hook = cpuidHook;
        if (hook != null) {
            hook.adjust(leaf, sub, r);
        }
        regs[EAX] = r[0];
        regs[EBX] = r[1];
        regs[ECX] = r[2];
        regs[EDX] = r[3];
    }

    /**
     * Leaf 0x15, TSC / core crystal clock: the crystal is the APIC timer's input clock and the TSC
     * its exact multiple. Linux then knows the TSC frequency without calibrating (and takes the
     * APIC timer period from the crystal), which is what makes its clock right on a slow or busy
     * host, where calibration loops against the PIT fail.
     */
    private void tscLeaf(int[] r) {
        long crystal = VirtualClock.APIC_BUS_HZ;
        long tscHz = clock.tscHz();
        long g = gcd(tscHz, crystal);
        r[0] = (int) (crystal / g); // denominator
        r[1] = (int) (tscHz / g); // numerator
        r[2] = (int) crystal; // crystal Hz (unsigned 32 bits)
    }

    private static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    // ------------------------------------------------------------------ TSC and MSRs

    /** Guest TSC: the domain clock's TSC plus this vCPU's offset (IA32_TSC_ADJUST). */
    final long tsc() {
        return clock.tsc() + tscOffset;
    }

    final void rdtsc() {
        if ((cr4 & CR4_TSD) != 0 && cpl != 0 && protectedMode()) {
            throw fault(GP, 0);
        }
        long t = tsc();
        regs[EAX] = (int) t;
        regs[EDX] = (int) (t >>> 32);
    }

    /** RDTSCP: RDTSC's privilege check (CR4.TSD), then ECX = IA32_TSC_AUX. */
    final void rdtscp() {
        rdtsc();
        regs[ECX] = tscAux;
    }

    final long readMsr(int msr) {
        switch (msr) {
            case MSR_TSC: return tsc();
            case MSR_EFER: return efer;
            case MSR_TSC_AUX: return tscAux & 0xffffffffL;
            case MSR_TSC_ADJUST: return tscOffset;
            case MSR_PLATFORM_ID, MSR_UCODE_REV: return 0;
            case MSR_SYSENTER_CS: return sysenterCs & 0xffffffffL;
            case MSR_SYSENTER_ESP: return sysenterEsp & 0xffffffffL;
            case MSR_SYSENTER_EIP: return sysenterEip & 0xffffffffL;
            case MSR_PAT: return pat;
            case MSR_MTRRCAP: return 0x508; // 8 variable ranges, fixed ranges, write-combining
            case MSR_MTRR_DEF_TYPE: return mtrrDefType;
            case MSR_MISC_ENABLE: return miscEnable;
            default:
                break;
        }
        if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 16) {
            return mtrrVar[msr - MSR_MTRR_PHYS_BASE0];
        }
        int fixed = fixedMtrrIndex(msr);
        if (fixed >= 0) {
            return mtrrFixed[fixed];
        }
        long[] out = msrOut;
        if (env.readMsr(msr, out)) {
            return out[0];
        }
        if (msr == MSR_APIC_BASE && apicPresent) {
            return 0xfee00000L | 0x800 | (apicId == 0 ? 0x100 : 0);
        }
        throw fault(GP, 0);
    }

    private static int fixedMtrrIndex(int msr) {
        if (msr == MSR_MTRR_FIX64K) {
            return 0;
        }
        if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000) {
            return msr - MSR_MTRR_FIX16K_80000 + 1;
        }
        if (msr >= MSR_MTRR_FIX4K_C0000 && msr < MSR_MTRR_FIX4K_C0000 + 8) {
            return msr - MSR_MTRR_FIX4K_C0000 + 3;
        }
        return -1;
    }

    final void writeMsr(int msr, long v) {
        switch (msr) {
            case MSR_TSC -> tscOffset += v - tsc();
            case MSR_TSC_ADJUST -> tscOffset = v;
            case MSR_EFER -> {
                if ((v & ~EFER_NXE) != 0) {
                    throw fault(GP, 0); // LME and SCE are not offered: reserved here
                }
                efer = v;
                setNoExecuteEnabled((v & EFER_NXE) != 0);
            }
            case MSR_TSC_AUX -> {
                if ((v >>> 32) != 0) {
                    throw fault(GP, 0);
                }
                tscAux = (int) v;
            }
            case MSR_UCODE_REV, MSR_PLATFORM_ID -> { }
            case MSR_SYSENTER_CS -> sysenterCs = (int) v;
            case MSR_SYSENTER_ESP -> sysenterEsp = (int) v;
            case MSR_SYSENTER_EIP -> sysenterEip = (int) v;
            case MSR_PAT -> pat = v;
            case MSR_MTRR_DEF_TYPE -> mtrrDefType = v & 0xcff;
            case MSR_MISC_ENABLE -> miscEnable = v;
            default -> {
                if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 16) {
                    mtrrVar[msr - MSR_MTRR_PHYS_BASE0] = v;
                } else if (fixedMtrrIndex(msr) >= 0) {
                    mtrrFixed[fixedMtrrIndex(msr)] = v;
                } else if (!env.writeMsr(msr, v)) {
                    if (msr == MSR_APIC_BASE && apicPresent) {
                        return; // platform without an APIC_BASE handler: keep the default
                    }
                    throw fault(GP, 0);
                }
            }
        }
    }

    // ------------------------------------------------------------------ SYSENTER / SYSEXIT

    final void sysenter() {
        if (!protectedMode() || (sysenterCs & 0xfffc) == 0) {
            throw fault(GP, 0);
        }
        flags &= ~(VM | IF | RF);
        setCpl(0);
        int cs = sysenterCs & 0xfffc;
        setSegRaw(CS, cs, 0, -1, 0xc09b);
        setSegRaw(SS, cs + 8, 0, -1, 0xc093);
        regs[ESP] = sysenterEsp;
        eip = sysenterEip;
    }

    final void sysexit() {
        if (!protectedMode() || v86() || cpl != 0 || (sysenterCs & 0xfffc) == 0) {
            throw fault(GP, 0);
        }
        int cs = sysenterCs & 0xfffc;
        setCpl(3);
        setSegRaw(CS, (cs + 16) | 3, 0, -1, 0xc0fb);
        setSegRaw(SS, (cs + 24) | 3, 0, -1, 0xc0f3);
        regs[ESP] = regs[ECX];
        eip = regs[EDX];
    }
}
