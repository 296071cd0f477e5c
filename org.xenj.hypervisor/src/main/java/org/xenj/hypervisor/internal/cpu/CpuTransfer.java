package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * Control transfers that cross segments: interrupt and exception delivery (IVT, IDT gates,
 * stack switch through the TSS, double and triple faults), far JMP/CALL/RET through call gates,
 * IRET (incl. to outer rings and to virtual-8086 mode) and hardware task switches.
 */
abstract class CpuTransfer extends CpuSeg {

    static final int TASK_JMP = 0, TASK_CALL = 1, TASK_IRET = 2;

    DeliveryHook deliveryHook;
    HypercallHandler hypercallHandler;
    /** Set when the CPU shut down (triple fault); the executor crashes the domain. */
    boolean tripleFault;
    String tripleFaultReason;

    private final int[] params = new int[32];
    private final int[] taskSegs = new int[6];

    CpuTransfer(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    static boolean hasErrorCode(int vector) {
        return vector == DFV || (vector >= TS && vector <= PFV) || vector == ACV;
    }

    private static boolean contributory(int v) {
        return v == DE || (v >= TS && v <= GP);
    }

    /**
     * Delivers exception {@code vector}; a fault during delivery becomes #DF or, during #DF, a triple
     * fault. EIP must be the address to return to (the faulting instruction for faults).
     */
    final void exception(int vector, int error) {
        int err = hasErrorCode(vector) ? error : -1;
        for (int depth = 0; ; depth++) {
            try {
                interrupt(vector, DeliveryHook.EXCEPTION, err);
                return;
            } catch (CpuFault f) {
                int second = faultVector;
                if (vector == DFV || depth > 3) {
                    tripleFault = true;
                    tripleFaultReason = "triple fault: exception " + second + " while delivering #DF";
                    return;
                }
                if ((contributory(vector) && contributory(second)) || (vector == PFV && (second == PFV || contributory(second)))) {
                    vector = DFV;
                    err = 0;
                } else {
                    vector = second;
                    err = hasErrorCode(second) ? faultError : -1;
                }
            }
        }
    }

    /** Delivers an external interrupt or software interrupt; faults during delivery are handled as exceptions. */
    final void deliverEvent(int vector, int kind) {
        try {
            interrupt(vector, kind, -1);
        } catch (CpuFault f) {
            exception(faultVector, faultError);
        }
    }

    /** One delivery attempt through the hook, the IVT (real mode) or the IDT. May throw a nested fault. */
    final void interrupt(int vector, int kind, int err) {
        DeliveryHook hook = deliveryHook;
        if (hook != null && hook.deliver((Cpu) this, vector, kind, err)) {
            return;
        }
        halted = false;
        if (!protectedMode()) {
            realInterrupt(vector);
        } else {
            protectedInterrupt(vector, kind, err);
        }
    }

    /** True while HLT waits for an interrupt. */
    boolean halted;
    /** An NMI handler runs: further NMIs wait until the next IRET (SDM vol. 3, 6.7.1). */
    boolean nmiBlocked;

    private void realInterrupt(int vector) {
        if (vector * 4 + 3 > (idtrLimit & 0xffff)) {
            throw fault(GP, 0);
        }
        int ip = sysRead16(idtrBase + vector * 4);
        int cs = sysRead16(idtrBase + vector * 4 + 2);
        int f = eflags();
        int esp = regs[ESP];
        try {
            push16(f);
            push16(segSel[CS]);
            push16(eip);
        } catch (CpuFault e) {
            regs[ESP] = esp;
            throw e;
        }
        flags = f & ~(IF | TF | AC | RF);
        lfOp = LF_NONE;
        loadSegReal(CS, cs);
        eip = ip;
    }

    private int tssSs, tssEsp;

    /** Reads the stack for privilege {@code level} from the current TSS. */
    private void tssStack(int level) {
        if ((trAttr & 8) != 0) {
            int off = 4 + level * 8;
            if (off + 5 > (trLimit & 0xffffffffL)) {
                throw fault(TS, trSel & 0xfffc);
            }
            tssEsp = sysRead32(trBase + off);
            tssSs = sysRead16(trBase + off + 4);
        } else {
            int off = 2 + level * 4;
            if (off + 3 > (trLimit & 0xffffffffL)) {
                throw fault(TS, trSel & 0xfffc);
            }
            tssEsp = sysRead16(trBase + off);
            tssSs = sysRead16(trBase + off + 2);
        }
    }

    /** Validates the inner stack segment {@code sel} for privilege {@code level}; leaves its descriptor in descLo/descHi. */
    private void checkInnerStack(int sel, int level, int ext) {
        if ((sel & 0xfffc) == 0) {
            throw fault(TS, ext);
        }
        if ((sel & 3) != level) {
            throw fault(TS, (sel & 0xfffc) + ext);
        }
        readDescriptor(sel, TS);
        int hi = descHi;
        if (!isData(hi) || (hi & 0x200) == 0 || dpl(hi) != level) {
            throw fault(TS, (sel & 0xfffc) + ext);
        }
        if (!present(hi)) {
            throw fault(SSV, (sel & 0xfffc) + ext);
        }
    }

    private void protectedInterrupt(int vector, int kind, int err) {
        int ext = kind == DeliveryHook.SOFTWARE_INT ? 0 : 1;
        int idtErr = vector * 8 + 2 + ext;
        if (vector * 8 + 7 > (idtrLimit & 0xffff)) {
            throw fault(GP, idtErr);
        }
        int lo = sysRead32(idtrBase + vector * 8);
        int hi = sysRead32(idtrBase + vector * 8 + 4);
        int type = (hi >>> 8) & 0x1f;
        if (type != 5 && type != 6 && type != 7 && type != 0xe && type != 0xf) {
            throw fault(GP, idtErr);
        }
        if (kind == DeliveryHook.SOFTWARE_INT && dpl(hi) < cpl) {
            throw fault(GP, idtErr);
        }
        if (!present(hi)) {
            throw fault(NP, idtErr);
        }
        if (type == 5) {
            taskSwitch(lo >>> 16, TASK_CALL);
            if (err >= 0) {
                if ((trAttr & 8) != 0) {
                    push32(err);
                } else {
                    push16(err);
                }
            }
            return;
        }
        boolean gate32 = (type & 8) != 0;
        int sel = lo >>> 16;
        int offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
        if ((sel & 0xfffc) == 0) {
            throw fault(GP, ext);
        }
        readDescriptor(sel, GP);
        int clo = descLo, chi = descHi;
        if (!isCode(chi) || dpl(chi) > cpl) {
            throw fault(GP, (sel & 0xfffc) + ext);
        }
        if (!present(chi)) {
            throw fault(NP, (sel & 0xfffc) + ext);
        }
        if ((offset & 0xffffffffL) > (descLimit(clo, chi) & 0xffffffffL)) {
            throw fault(GP, ext);
        }
        boolean conforming = (chi & 0x400) != 0;
        int newCpl = conforming ? cpl : dpl(chi);
        boolean fromV86 = v86();
        int oldFlags = eflags();
        int size = gate32 ? 4 : 2;
        if (newCpl < cpl) {
            if (fromV86 && newCpl != 0) {
                throw fault(GP, sel & 0xfffc);
            }
            tssStack(newCpl);
            int ssSel = tssSs, esp = tssEsp;
            checkInnerStack(ssSel, newCpl, ext);
            int slo = descLo, shi = descHi;
            boolean big = (shi & 0x400000) != 0;
            int words = (fromV86 ? 4 : 0) + 5 + (err >= 0 ? 1 : 0);
            int frame = words * size;
            int top = big ? esp : esp & 0xffff;
            int bottom = top - frame;
            int ssBase = descBase(slo, shi);
            long lim = descLimit(slo, shi) & 0xffffffffL;
            if ((bottom & 0xffffffffL) > (top & 0xffffffffL) || ((top - 1) & 0xffffffffL) > lim) {
                throw fault(SSV, ssSel & 0xfffc);
            }
            boolean user = newCpl == 3;
            checkWritableSlow(ssBase + (big ? bottom : bottom & 0xffff), frame, user);
            int p = top;
            if (fromV86) {
                p = putFrame(ssBase, p, big, size, segSel[GS], user);
                p = putFrame(ssBase, p, big, size, segSel[FS], user);
                p = putFrame(ssBase, p, big, size, segSel[DS], user);
                p = putFrame(ssBase, p, big, size, segSel[ES], user);
            }
            p = putFrame(ssBase, p, big, size, segSel[SS], user);
            p = putFrame(ssBase, p, big, size, regs[ESP], user);
            p = putFrame(ssBase, p, big, size, oldFlags, user);
            p = putFrame(ssBase, p, big, size, segSel[CS], user);
            p = putFrame(ssBase, p, big, size, eip, user);
            if (err >= 0) {
                p = putFrame(ssBase, p, big, size, err, user);
            }
            flags = oldFlags & ~(TF | NT | RF | VM | ((type & 1) == 0 ? IF : 0));
            lfOp = LF_NONE;
            setCpl(newCpl);
            setSegCache(SS, ssSel, slo, shi);
            regs[ESP] = big ? p : (regs[ESP] & 0xffff0000) | (p & 0xffff);
            if (fromV86) {
                for (int s = 0; s < 6; s++) {
                    if (s != CS && s != SS) {
                        segSel[s] = 0;
                        segAttr[s] = 0;
                        segBase[s] = 0;
                    }
                }
            }
        } else {
            if (fromV86) {
                throw fault(GP, sel & 0xfffc);
            }
            int frame = (4 + (err >= 0 ? 1 : 0)) * size - size;
            int esp = regs[ESP];
            int top = stack32() ? esp : esp & 0xffff;
            checkWritable(linW(SS, top - frame, frame), frame);
            try {
                push(oldFlags, gate32);
                push(segSel[CS], gate32);
                push(eip, gate32);
                if (err >= 0) {
                    push(err, gate32);
                }
            } catch (CpuFault e) {
                regs[ESP] = esp;
                throw e;
            }
            flags = oldFlags & ~(TF | NT | RF | VM | ((type & 1) == 0 ? IF : 0));
            lfOp = LF_NONE;
        }
        for (int s = 0; s < 6; s++) {
            computeRanges(s);
        }
        setSegCache(CS, (sel & 0xfffc) | newCpl, clo, chi);
        eip = offset;
    }

    /** Stores one frame slot below {@code top} on a not-yet-loaded stack; returns the new top. */
    private int putFrame(int ssBase, int top, boolean big, int size, int value, boolean user) {
        int p = top - size;
        int off = big ? p : p & 0xffff;
        if (size == 4) {
            writeAs32(ssBase + off, value, user);
        } else {
            writeAs16(ssBase + off, value, user);
        }
        return p;
    }

    // ------------------------------------------------------------------ far JMP / CALL / RET

    /** Checks a direct code-segment target of JMP/CALL; the descriptor is in descLo/descHi. */
    private void checkDirectCode(int sel) {
        int hi = descHi;
        if ((hi & 0x400) != 0) {
            if (dpl(hi) > cpl) {
                throw fault(GP, sel & 0xfffc);
            }
        } else if ((sel & 3) > cpl || dpl(hi) != cpl) {
            throw fault(GP, sel & 0xfffc);
        }
        if (!present(hi)) {
            throw fault(NP, sel & 0xfffc);
        }
    }

    private void checkLimit(int off, int lo, int hi) {
        if ((off & 0xffffffffL) > (descLimit(lo, hi) & 0xffffffffL)) {
            throw fault(GP, 0);
        }
    }

    final void farJmp(int sel, int off, boolean op32) {
        sel &= 0xffff;
        if (!protectedMode() || v86()) {
            loadSegReal(CS, sel);
            eip = op32 ? off : off & 0xffff;
            return;
        }
        if ((sel & 0xfffc) == 0) {
            throw fault(GP, 0);
        }
        readDescriptor(sel, GP);
        int lo = descLo, hi = descHi;
        if (isCode(hi)) {
            checkDirectCode(sel);
            checkLimit(off, lo, hi);
            setAccessed();
            setSegCache(CS, (sel & 0xfffc) | cpl, lo, descHi);
            eip = off;
            return;
        }
        int type = (hi >>> 8) & 0x1f;
        checkGateOrTssAccess(sel, hi, type);
        switch (type) {
            case 4, 0xc -> {
                int tsel = lo >>> 16;
                int toff = type == 0xc ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
                if ((tsel & 0xfffc) == 0) {
                    throw fault(GP, 0);
                }
                readDescriptor(tsel, GP);
                if (!isCode(descHi)) {
                    throw fault(GP, tsel & 0xfffc);
                }
                if ((descHi & 0x400) != 0 ? dpl(descHi) > cpl : dpl(descHi) != cpl) {
                    throw fault(GP, tsel & 0xfffc);
                }
                if (!present(descHi)) {
                    throw fault(NP, tsel & 0xfffc);
                }
                checkLimit(toff, descLo, descHi);
                setSegCache(CS, (tsel & 0xfffc) | cpl, descLo, descHi);
                eip = toff;
            }
            case 5 -> taskSwitch(lo >>> 16, TASK_JMP);
            case 1, 9 -> taskSwitch(sel, TASK_JMP);
            default -> throw fault(GP, sel & 0xfffc);
        }
    }

    /** Far CALL; {@code eip} already holds the return address. */
    final void farCall(int sel, int off, boolean op32) {
        sel &= 0xffff;
        int esp = regs[ESP];
        try {
            farCallInner(sel, off, op32);
        } catch (CpuFault e) {
            regs[ESP] = esp;
            throw e;
        }
    }

    private void farCallInner(int sel, int off, boolean op32) {
        if (!protectedMode() || v86()) {
            push(segSel[CS], op32);
            push(eip, op32);
            loadSegReal(CS, sel);
            eip = op32 ? off : off & 0xffff;
            return;
        }
        if ((sel & 0xfffc) == 0) {
            throw fault(GP, 0);
        }
        readDescriptor(sel, GP);
        int lo = descLo, hi = descHi;
        if (isCode(hi)) {
            checkDirectCode(sel);
            checkLimit(off, lo, hi);
            push(segSel[CS], op32);
            push(eip, op32);
            setSegCache(CS, (sel & 0xfffc) | cpl, lo, hi);
            eip = off;
            return;
        }
        int type = (hi >>> 8) & 0x1f;
        checkGateOrTssAccess(sel, hi, type);
        switch (type) {
            case 4, 0xc -> callGate(lo, hi, type == 0xc);
            case 5 -> taskSwitch(lo >>> 16, TASK_CALL);
            case 1, 9 -> taskSwitch(sel, TASK_CALL);
            default -> throw fault(GP, sel & 0xfffc);
        }
    }

    private void callGate(int glo, int ghi, boolean gate32) {
        int tsel = glo >>> 16;
        int toff = gate32 ? (glo & 0xffff) | (ghi & 0xffff0000) : glo & 0xffff;
        if ((tsel & 0xfffc) == 0) {
            throw fault(GP, 0);
        }
        readDescriptor(tsel, GP);
        int clo = descLo, chi = descHi;
        if (!isCode(chi) || dpl(chi) > cpl) {
            throw fault(GP, tsel & 0xfffc);
        }
        if (!present(chi)) {
            throw fault(NP, tsel & 0xfffc);
        }
        checkLimit(toff, clo, chi);
        int size = gate32 ? 4 : 2;
        if ((chi & 0x400) == 0 && dpl(chi) < cpl) {
            int newCpl = dpl(chi);
            tssStack(newCpl);
            int ssSel = tssSs;
            checkInnerStack(ssSel, newCpl, 0);
            int slo = descLo, shi = descHi;
            int count = ghi & 0x1f;
            for (int i = 0; i < count; i++) {
                params[i] = peek(i * size, gate32);
            }
            boolean big = (shi & 0x400000) != 0;
            int top = big ? tssEsp : tssEsp & 0xffff;
            int frame = (4 + count) * size;
            int ssBase = descBase(slo, shi);
            boolean user = newCpl == 3;
            checkWritableSlow(ssBase + (big ? top - frame : (top - frame) & 0xffff), frame, user);
            int p = top;
            p = putFrame(ssBase, p, big, size, segSel[SS], user);
            p = putFrame(ssBase, p, big, size, regs[ESP], user);
            for (int i = count - 1; i >= 0; i--) {
                p = putFrame(ssBase, p, big, size, params[i], user);
            }
            p = putFrame(ssBase, p, big, size, segSel[CS], user);
            p = putFrame(ssBase, p, big, size, eip, user);
            setCpl(newCpl);
            setSegCache(SS, ssSel, slo, shi);
            regs[ESP] = big ? p : (regs[ESP] & 0xffff0000) | (p & 0xffff);
            setSegCache(CS, (tsel & 0xfffc) | newCpl, clo, chi);
        } else {
            push(segSel[CS], gate32);
            push(eip, gate32);
            setSegCache(CS, (tsel & 0xfffc) | cpl, clo, chi);
        }
        eip = toff;
    }

    /** Validates a return target CS with RPL {@code rpl >= cpl}; descriptor left in descLo/descHi. */
    private void checkReturnCode(int sel) {
        if ((sel & 0xfffc) == 0) {
            throw fault(GP, 0);
        }
        readDescriptor(sel, GP);
        int rpl = sel & 3;
        int hi = descHi;
        if (rpl < cpl || !isCode(hi)) {
            throw fault(GP, sel & 0xfffc);
        }
        if ((hi & 0x400) != 0 ? dpl(hi) > rpl : dpl(hi) != rpl) {
            throw fault(GP, sel & 0xfffc);
        }
        if (!present(hi)) {
            throw fault(NP, sel & 0xfffc);
        }
    }

    /** Validates a return stack for privilege {@code rpl}; descriptor left in descLo/descHi. */
    private void checkReturnStack(int sel, int rpl) {
        if ((sel & 0xfffc) == 0 || (sel & 3) != rpl) {
            throw fault(GP, sel & 0xfffc);
        }
        readDescriptor(sel, GP);
        int hi = descHi;
        if (!isData(hi) || (hi & 0x200) == 0 || dpl(hi) != rpl) {
            throw fault(GP, sel & 0xfffc);
        }
        if (!present(hi)) {
            throw fault(SSV, sel & 0xfffc);
        }
    }

    final void farRet(boolean op32, int imm) {
        int size = op32 ? 4 : 2;
        int newEip = peek(0, op32);
        int newCs = peek(size, op32) & 0xffff;
        if (!protectedMode() || v86()) {
            loadSegReal(CS, newCs);
            eip = op32 ? newEip : newEip & 0xffff;
            addSp(2 * size + imm);
            return;
        }
        checkReturnCode(newCs);
        int clo = descLo, chi = descHi;
        checkLimit(newEip, clo, chi);
        int rpl = newCs & 3;
        if (rpl == cpl) {
            setSegCache(CS, newCs, clo, chi);
            eip = newEip;
            addSp(2 * size + imm);
            return;
        }
        int newEsp = peek(2 * size + imm, op32);
        int newSs = peek(3 * size + imm, op32) & 0xffff;
        checkReturnStack(newSs, rpl);
        setCpl(rpl);
        setSegCache(CS, newCs, clo, chi);
        setSegCache(SS, newSs, descLo, descHi);
        regs[ESP] = stack32() ? (op32 ? newEsp : newEsp & 0xffff) : (regs[ESP] & 0xffff0000) | (newEsp & 0xffff);
        addSp(imm);
        eip = newEip;
        nullInaccessibleSegments();
    }

    /** EFLAGS bits IRET/POPF may change at privilege {@code level}. */
    final int flagsWritable(int level, boolean op32) {
        int mask = ARITH | TF | DF | NT | (op32 ? AC | ID | RF : 0);
        if (level <= ((flags >>> 12) & 3)) {
            mask |= IF;
        }
        if (level == 0) {
            mask |= IOPL;
        }
        return op32 ? mask : mask & 0xffff;
    }

    final void iret(boolean op32) {
        nmiBlocked = false; // any IRET ends NMI blocking, even one that faults later (SDM 6.7.1)
        int size = op32 ? 4 : 2;
        if (!protectedMode()) {
            int newEip = peek(0, op32);
            int newCs = peek(size, op32);
            int newFlags = peek(2 * size, op32);
            addSp(3 * size);
            loadSegReal(CS, newCs);
            eip = op32 ? newEip : newEip & 0xffff;
            writeFlags(newFlags, op32 ? (EFLAGS_MASK & ~(VM | VIP | VIF)) : 0xffff);
            return;
        }
        if (v86()) {
            if (((flags >>> 12) & 3) < 3) {
                throw fault(GP, 0);
            }
            int newEip = peek(0, op32);
            int newCs = peek(size, op32);
            int newFlags = peek(2 * size, op32);
            addSp(3 * size);
            loadSegReal(CS, newCs);
            eip = op32 ? newEip : newEip & 0xffff;
            writeFlags(newFlags, (op32 ? EFLAGS_MASK : 0xffff) & ~(IOPL | VM | VIP | VIF));
            return;
        }
        if ((flags & NT) != 0) {
            taskSwitch(sysRead16(trBase), TASK_IRET);
            return;
        }
        int newEip = peek(0, op32);
        int newCs = peek(size, op32) & 0xffff;
        int newFlags = peek(2 * size, op32);
        if (!op32) {
            newFlags = (eflags() & 0xffff0000) | (newFlags & 0xffff);
        }
        if ((newFlags & VM) != 0 && cpl == 0) {
            returnToV86(newEip, newCs, newFlags);
            return;
        }
        checkReturnCode(newCs);
        int clo = descLo, chi = descHi;
        checkLimit(newEip, clo, chi);
        int rpl = newCs & 3;
        int mask = flagsWritable(cpl, true);
        if (cpl == 0) {
            mask |= VIF | VIP;
        }
        if (rpl == cpl) {
            addSp(3 * size);
            writeFlags(newFlags, mask);
            setSegCache(CS, newCs, clo, chi);
            eip = newEip;
            return;
        }
        int newEsp = peek(3 * size, op32);
        int newSs = peek(4 * size, op32) & 0xffff;
        checkReturnStack(newSs, rpl);
        writeFlags(newFlags, mask);
        setCpl(rpl);
        setSegCache(CS, newCs, clo, chi);
        setSegCache(SS, newSs, descLo, descHi);
        regs[ESP] = stack32() ? (op32 ? newEsp : newEsp & 0xffff) : (regs[ESP] & 0xffff0000) | (newEsp & 0xffff);
        eip = newEip;
        nullInaccessibleSegments();
    }

    private void returnToV86(int newEip, int newCs, int newFlags) {
        int newEsp = peek32(12);
        int ss = peek32(16), es = peek32(20), ds = peek32(24), fs = peek32(28), gs = peek32(32);
        writeFlags(newFlags, EFLAGS_MASK);
        setCpl(3);
        loadSegReal(CS, newCs);
        loadSegReal(SS, ss);
        loadSegReal(ES, es);
        loadSegReal(DS, ds);
        loadSegReal(FS, fs);
        loadSegReal(GS, gs);
        regs[ESP] = newEsp;
        eip = newEip & 0xffff;
    }

    // ------------------------------------------------------------------ task switch

    /**
     * Switches to the task whose TSS selector is {@code sel}, a 32-bit or a 16-bit TSS (SDM vol. 3
     * §8.3 "Task Switching", §8.6 "16-Bit Task-State Segment"). {@code eip} must be the address the old
     * task resumes at. A 16-bit TSS holds no CR3, FS or GS: paging is left as it is, FS and GS become
     * null; the upper halves of the registers it loads are undefined in the manual — here, as in
     * Bochs, the general registers get 0xFFFF there and EIP and EFLAGS get 0.
     */
    final void taskSwitch(int sel, int source) {
        sel &= 0xffff;
        if ((sel & 4) != 0 || (sel & 0xfffc) == 0) {
            throw fault(source == TASK_IRET ? TS : GP, sel & 0xfffc);
        }
        readDescriptor(sel, GP);
        int lo = descLo, hi = descHi, addr = descAddr;
        int type = (hi >>> 8) & 0x1f;
        if ((type & ~8) != (source == TASK_IRET ? 3 : 1)) { // busy for IRET, available otherwise; 16 or 32-bit
            throw fault(source == TASK_IRET ? TS : GP, sel & 0xfffc);
        }
        if (!present(hi)) {
            throw fault(NP, sel & 0xfffc);
        }
        boolean new32 = (type & 8) != 0;
        int base = descBase(lo, hi);
        int limit = descLimit(lo, hi);
        if ((limit & 0xffffffffL) < (new32 ? 0x67 : 0x2b)) {
            throw fault(TS, sel & 0xfffc);
        }
        // read the new state first: a fault here leaves the old task untouched
        int nCr3 = cr3;
        int nEip;
        int nFlags;
        int[] nRegs = params;
        int[] nSeg = taskSegs;
        int nLdt;
        if (new32) {
            nCr3 = sysRead32(base + 0x1c);
            nEip = sysRead32(base + 0x20);
            nFlags = sysRead32(base + 0x24);
            for (int i = 0; i < 8; i++) {
                nRegs[i] = sysRead32(base + 0x28 + i * 4);
            }
            for (int s = 0; s < 6; s++) {
                nSeg[s] = sysRead16(base + 0x48 + s * 4);
            }
            nLdt = sysRead16(base + 0x60);
        } else {
            nEip = sysRead16(base + 0x0e);
            nFlags = sysRead16(base + 0x10);
            for (int i = 0; i < 8; i++) {
                nRegs[i] = 0xffff0000 | sysRead16(base + 0x12 + i * 2);
            }
            for (int s = 0; s < 4; s++) { // ES CS SS DS
                nSeg[s] = sysRead16(base + 0x22 + s * 2);
            }
            nSeg[FS] = 0;
            nSeg[GS] = 0;
            nLdt = sysRead16(base + 0x2a);
        }
        // save the old task in its own TSS format
        int oldFlags = eflags();
        if (source != TASK_CALL) {
            oldFlags &= ~NT;
        }
        if ((trAttr & 8) != 0 && (trLimit & 0xffffffffL) >= 0x67) {
            sysWrite32(trBase + 0x20, eip);
            sysWrite32(trBase + 0x24, oldFlags);
            for (int i = 0; i < 8; i++) {
                sysWrite32(trBase + 0x28 + i * 4, regs[i]);
            }
            for (int s = 0; s < 6; s++) {
                sysWrite16(trBase + 0x48 + s * 4, segSel[s]);
            }
        } else if ((trAttr & 8) == 0 && (trSel & 0xfffc) != 0 && (trLimit & 0xffffffffL) >= 0x2b) {
            sysWrite16(trBase + 0x0e, eip);
            sysWrite16(trBase + 0x10, oldFlags);
            for (int i = 0; i < 8; i++) {
                sysWrite16(trBase + 0x12 + i * 2, regs[i]);
            }
            for (int s = 0; s < 4; s++) {
                sysWrite16(trBase + 0x22 + s * 2, segSel[s]);
            }
        }
        if (source != TASK_CALL && (trSel & 0xfffc) != 0) {
            int oldAddr = gdtrBase + (trSel & 0xfff8);
            sysWrite32(oldAddr + 4, sysRead32(oldAddr + 4) & ~0x200);
        }
        if (source == TASK_CALL) {
            sysWrite16(base, trSel);
            nFlags |= NT;
        }
        if (source != TASK_IRET) {
            hi |= 0x200;
            sysWrite32(addr + 4, hi);
        }
        trSel = sel;
        trBase = base;
        trLimit = limit;
        trAttr = descAttr(hi);
        cr0 |= CR0_TS;
        if (cr0 < 0 && new32) {
            cr3 = nCr3;
            flushTlb(false);
        }
        System.arraycopy(nRegs, 0, regs, 0, 8);
        eip = nEip;
        lfOp = LF_NONE;
        flags = (nFlags & EFLAGS_MASK) | 2;
        // load the new task's segments; faults here are the new task's (#TS)
        ldtrSel = nLdt;
        if ((nLdt & 0xfffc) != 0) {
            if ((nLdt & 4) != 0) {
                throw fault(TS, nLdt & 0xfffc);
            }
            readDescriptor(nLdt, TS);
            if (((descHi >>> 8) & 0x1f) != 2) {
                throw fault(TS, nLdt & 0xfffc);
            }
            ldtrBase = descBase(descLo, descHi);
            ldtrLimit = descLimit(descLo, descHi);
        } else {
            ldtrBase = 0;
            ldtrLimit = 0;
        }
        if ((nFlags & VM) != 0) {
            setCpl(3);
            for (int s = 0; s < 6; s++) {
                loadSegReal(s, nSeg[s]);
            }
            return;
        }
        int newCpl = nSeg[CS] & 3;
        setCpl(newCpl);
        readDescriptor(nSeg[CS], TS);
        if (!isCode(descHi) || ((descHi & 0x400) != 0 ? dpl(descHi) > newCpl : dpl(descHi) != newCpl)) {
            throw fault(TS, nSeg[CS] & 0xfffc);
        }
        if (!present(descHi)) {
            throw fault(NP, nSeg[CS] & 0xfffc);
        }
        setSegCache(CS, nSeg[CS], descLo, descHi);
        loadStackSeg(nSeg[SS], TS, newCpl);
        loadDataSeg(ES, nSeg[ES], TS);
        loadDataSeg(DS, nSeg[DS], TS);
        loadDataSeg(FS, nSeg[FS], TS);
        loadDataSeg(GS, nSeg[GS], TS);
    }

    /**
     * Far JMP/CALL through a call gate, task gate or TSS: the descriptor's DPL must admit both CPL
     * and RPL, and it must be present. Other system types are left to the caller's #GP.
     */
    private void checkGateOrTssAccess(int sel, int hi, int type) {
        if (type == 4 || type == 0xc || type == 5 || type == 1 || type == 9) {
            if (dpl(hi) < cpl || dpl(hi) < (sel & 3)) {
                throw fault(GP, sel & 0xfffc);
            }
            if (!present(hi)) {
                throw fault(NP, sel & 0xfffc);
            }
        }
    }
}
