package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * Segmentation: descriptor-table reads, descriptor caches, segment-register loads with the
 * protected-mode checks, offset-to-linear translation with limit checks, and the stack.
 */
abstract class CpuSeg extends CpuOrder {

    static final int ATTR_P = 0x80, ATTR_S = 0x10, ATTR_DB = 0x4000, ATTR_G = 0x8000;

    CpuSeg(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    // ------------------------------------------------------------------ offset -> linear

    /** Linear address of a read of {@code size} bytes at {@code seg:off}, after the limit check. */
    final int linR(int seg, int off, int size) {
        if ((flatRead & (1 << seg)) != 0) {
            return off; // base 0, 4 GiB: nothing to check
        }
        long o = off & 0xffffffffL;
        if (o < segRdLo[seg] || o + (size - 1) > segRdHi[seg]) {
            throw segFault(seg);
        }
        return segBase[seg] + off;
    }

    final int linW(int seg, int off, int size) {
        if ((flatWrite & (1 << seg)) != 0) {
            return off;
        }
        long o = off & 0xffffffffL;
        if (o < segWrLo[seg] || o + (size - 1) > segWrHi[seg]) {
            throw segFault(seg);
        }
        return segBase[seg] + off;
    }

    final CpuFault segFault(int seg) {
        return fault(seg == SS ? SSV : GP, 0);
    }

    // ------------------------------------------------------------------ descriptor caches

    /** Bit per segment: base 0 and every offset readable / writable (the common flat case). */
    int flatRead, flatWrite;

    /** Recomputes the permitted offset ranges of a segment from its cached attributes. */
    final void computeRanges(int seg) {
        int attr = segAttr[seg];
        long limit = segLimit[seg] & 0xffffffffL;
        boolean realLike = !protectedMode() || v86();
        boolean present = (attr & ATTR_P) != 0;
        boolean readable, writable;
        long lo = 0, hi = limit;
        if (realLike) {
            readable = writable = true;
        } else if (!present || (attr & ATTR_S) == 0) {
            readable = writable = false;
        } else if ((attr & 8) != 0) { // code
            readable = (attr & 2) != 0;
            writable = false;
        } else {
            readable = true;
            writable = (attr & 2) != 0;
            if ((attr & 4) != 0) { // expand-down
                lo = limit + 1;
                hi = (attr & ATTR_DB) != 0 ? 0xffffffffL : 0xffffL;
            }
        }
        segRdLo[seg] = readable ? lo : 1;
        segRdHi[seg] = readable ? hi : 0;
        segWrLo[seg] = writable ? lo : 1;
        segWrHi[seg] = writable ? hi : 0;
        boolean full = segBase[seg] == 0 && lo == 0 && hi == 0xffffffffL;
        flatRead = full && readable ? flatRead | (1 << seg) : flatRead & ~(1 << seg);
        flatWrite = full && writable ? flatWrite | (1 << seg) : flatWrite & ~(1 << seg);
    }

    static int descBase(int lo, int hi) {
        return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    }

    static int descLimit(int lo, int hi) {
        int limit = (lo & 0xffff) | (hi & 0xf0000);
        return (hi & 0x800000) != 0 ? (limit << 12) | 0xfff : limit;
    }

    static int descAttr(int hi) {
        return (hi >>> 8) & 0xf0ff;
    }

    final void setSegCache(int seg, int sel, int lo, int hi) {
        segSel[seg] = sel & 0xffff;
        segBase[seg] = descBase(lo, hi);
        segLimit[seg] = descLimit(lo, hi);
        segAttr[seg] = descAttr(hi);
        computeRanges(seg);
        if (seg == CS) {
            codeSegmentChanged();
        }
    }

    final void setSegRaw(int seg, int sel, int base, int limit, int attr) {
        segSel[seg] = sel & 0xffff;
        segBase[seg] = base;
        segLimit[seg] = limit;
        segAttr[seg] = attr;
        computeRanges(seg);
        if (seg == CS) {
            codeSegmentChanged();
        }
    }

    /** CS base, limit or size changed: the decoder re-reads its defaults. */
    abstract void codeSegmentChanged();

    /** Real mode and v86: base = selector * 16; limit and attributes stay (unreal mode) except in v86. */
    final void loadSegReal(int seg, int sel) {
        sel &= 0xffff;
        segSel[seg] = sel;
        segBase[seg] = sel << 4;
        if (v86()) {
            segLimit[seg] = 0xffff;
            segAttr[seg] = seg == CS ? 0xfb : 0xf3;
        } else if (seg == CS) {
            // a real-mode far transfer makes CS a 16-bit code segment again
            segAttr[seg] = (segAttr[seg] & ~ATTR_DB) | ATTR_P | ATTR_S | 0xb;
        }
        computeRanges(seg);
        if (seg == CS) {
            codeSegmentChanged();
        }
    }

    final void setCpl(int newCpl) {
        cpl = newCpl;
        boolean user = newCpl == 3;
        if (user != userMode) {
            selectTlb(user);
            flushFetch();
        }
    }

    // ------------------------------------------------------------------ descriptor tables

    /** Descriptor low/high dwords of the last {@link #readDescriptor}. */
    int descLo, descHi;
    /** Linear address of the last descriptor read (to set accessed / busy bits). */
    int descAddr;

    /** Reads the descriptor for {@code sel}; #GP(sel) (or {@code vector}) when outside the table. */
    final void readDescriptor(int sel, int vector) {
        int index = sel & 0xfff8;
        int base;
        if ((sel & 4) != 0) {
            if ((ldtrSel & 0xfffc) == 0 || index + 7 > (ldtrLimit & 0xffffffffL)) {
                throw fault(vector, sel & 0xfffc);
            }
            base = ldtrBase;
        } else {
            if (index + 7 > (gdtrLimit & 0xffff)) {
                throw fault(vector, sel & 0xfffc);
            }
            base = gdtrBase;
        }
        descAddr = base + index;
        descLo = sysRead32(descAddr);
        descHi = sysRead32(descAddr + 4);
    }

    final void setAccessed() {
        if ((descHi & 0x100) == 0) {
            descHi |= 0x100;
            sysWrite32(descAddr + 4, descHi);
        }
    }

    static int dpl(int hi) {
        return (hi >>> 13) & 3;
    }

    static boolean present(int hi) {
        return (hi & 0x8000) != 0;
    }

    static boolean isCode(int hi) {
        return (hi & 0x1800) == 0x1800;
    }

    static boolean isData(int hi) {
        return (hi & 0x1800) == 0x1000;
    }

    // ------------------------------------------------------------------ segment register loads

    /** MOV/POP/LDS-style load of ES, SS, DS, FS or GS with all checks of the current mode. */
    final void loadSeg(int seg, int sel) {
        sel &= 0xffff;
        if (!protectedMode() || v86()) {
            loadSegReal(seg, sel);
            return;
        }
        if (seg == SS) {
            loadStackSeg(sel, GP, cpl);
        } else {
            loadDataSeg(seg, sel, GP);
        }
    }

    final void loadDataSeg(int seg, int sel, int vector) {
        if ((sel & 0xfffc) == 0) {
            segSel[seg] = sel;
            segBase[seg] = 0;
            segLimit[seg] = 0;
            segAttr[seg] = 0;
            computeRanges(seg);
            return;
        }
        readDescriptor(sel, vector);
        int hi = descHi;
        if ((hi & 0x1000) == 0 || (isCode(hi) && (hi & 0x200) == 0)) {
            throw fault(vector, sel & 0xfffc);
        }
        boolean conformingCode = isCode(hi) && (hi & 0x400) != 0;
        if (!conformingCode && ((sel & 3) > dpl(hi) || cpl > dpl(hi))) {
            throw fault(vector, sel & 0xfffc);
        }
        if (!present(hi)) {
            throw fault(NP, sel & 0xfffc);
        }
        setAccessed();
        setSegCache(seg, sel, descLo, descHi);
    }

    /** Loads SS for privilege {@code rpl}; faults #GP (or {@code vector}) / #SS as hardware does. */
    final void loadStackSeg(int sel, int vector, int rpl) {
        if ((sel & 0xfffc) == 0 || (sel & 3) != rpl) {
            throw fault(vector, sel & 0xfffc);
        }
        readDescriptor(sel, vector);
        int hi = descHi;
        if (!isData(hi) || (hi & 0x200) == 0 || dpl(hi) != rpl) {
            throw fault(vector, sel & 0xfffc);
        }
        if (!present(hi)) {
            throw fault(SSV, sel & 0xfffc);
        }
        setAccessed();
        setSegCache(SS, sel, descLo, descHi);
    }

    /** After a return to an outer privilege level: data segments the new CPL may not use become null. */
    final void nullInaccessibleSegments() {
        for (int seg = 0; seg < 6; seg++) {
            if (seg == CS || seg == SS) {
                continue;
            }
            int attr = segAttr[seg];
            boolean conformingCode = (attr & 0x1c) == 0x1c;
            if ((attr & ATTR_S) != 0 && !conformingCode && ((attr >>> 5) & 3) < cpl) {
                segSel[seg] = 0;
                segAttr[seg] = 0;
                computeRanges(seg);
            }
        }
    }

    // ------------------------------------------------------------------ stack

    final boolean stack32() {
        return (segAttr[SS] & ATTR_DB) != 0;
    }

    final void push32(int v) {
        int esp = regs[ESP];
        if (stack32()) {
            write32(linW(SS, esp - 4, 4), v);
            regs[ESP] = esp - 4;
        } else {
            int sp = (esp - 4) & 0xffff;
            write32(linW(SS, sp, 4), v);
            regs[ESP] = (esp & 0xffff0000) | sp;
        }
    }

    final void push16(int v) {
        int esp = regs[ESP];
        if (stack32()) {
            write16(linW(SS, esp - 2, 2), v);
            regs[ESP] = esp - 2;
        } else {
            int sp = (esp - 2) & 0xffff;
            write16(linW(SS, sp, 2), v);
            regs[ESP] = (esp & 0xffff0000) | sp;
        }
    }

    final void push(int v, boolean op32) {
        if (op32) {
            push32(v);
        } else {
            push16(v);
        }
    }

    /** Reads the dword at the top of the stack plus {@code delta} without popping. */
    final int peek32(int delta) {
        int esp = regs[ESP] + delta;
        return read32(linR(SS, stack32() ? esp : esp & 0xffff, 4));
    }

    final int peek16(int delta) {
        int esp = regs[ESP] + delta;
        return read16(linR(SS, stack32() ? esp : esp & 0xffff, 2));
    }

    final int peek(int delta, boolean op32) {
        return op32 ? peek32(delta) : peek16(delta);
    }

    final void addSp(int n) {
        addSp(n, stack32());
    }

    /** ESP += n with the given stack size (POP SS updates ESP by the size of the old stack). */
    final void addSp(int n, boolean big) {
        if (big) {
            regs[ESP] += n;
        } else {
            regs[ESP] = (regs[ESP] & 0xffff0000) | ((regs[ESP] + n) & 0xffff);
        }
    }

    final int pop32() {
        int v = peek32(0);
        addSp(4);
        return v;
    }

    final int pop16() {
        int v = peek16(0);
        addSp(2);
        return v;
    }

    final int pop(boolean op32) {
        return op32 ? pop32() : pop16();
    }

    // ------------------------------------------------------------------ I/O permission

    /** Checks IOPL and the TSS I/O permission bitmap for an access to {@code port..port+size-1}. */
    final void checkIo(int port, int size) {
        if (!protectedMode() || (!v86() && cpl <= ((flags >>> 12) & 3))) {
            return;
        }
        if ((trAttr & 0xf) != 0xb || (trLimit & 0xffffffffL) < 0x67) {
            throw fault(GP, 0);
        }
        int bitmap = sysRead16(trBase + 0x66);
        int byteOff = bitmap + (port >>> 3);
        if (byteOff + 1 > (trLimit & 0xffffffffL)) {
            throw fault(GP, 0);
        }
        int bits = sysRead16(trBase + byteOff);
        int mask = ((1 << size) - 1) << (port & 7);
        if ((bits & mask) != 0) {
            throw fault(GP, 0);
        }
    }
}
