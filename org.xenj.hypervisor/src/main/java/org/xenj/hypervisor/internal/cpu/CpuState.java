package org.xenj.hypervisor.internal.cpu;

import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;

import org.xenj.hypervisor.internal.cpu.fpu.FpuState;

/**
 * Every piece of architectural state of one IA-32 vCPU — what hand-over, save/restore and migration
 * carry: general registers, EIP, EFLAGS, the six segment registers with their descriptor caches
 * (base, limit, attributes: unreal mode survives), CPL, CR0/2/3/4, DR0–7, GDTR/IDTR, LDTR and TR
 * with their caches, the MSRs the CPU keeps (SYSENTER, PAT, MTRRs, MISC_ENABLE, TSC offset and
 * TSC_AUX, EFER), HLT/interrupt-shadow/triple-fault/NMI blocking, the x87 unit (with MXCSR and the MMX registers it
 * aliases) and XMM0–7 ({@code xmm}: 16 longs, XMMi = xmm[2i] low, xmm[2i+1] high). No scratch: TLBs, the block cache,
 * decoder fields and lazy-flag operands are rebuilt (EFLAGS is stored evaluated).
 * {@link #write}/{@link #read} give a versioned byte form; a record of another version or a damaged
 * one is refused with the reason.
 */
public record CpuState(int[] gpr, int eip, int eflags, int[] segSel, int[] segBase, int[] segLimit, int[] segAttr, int cpl,
        int cr0, int cr2, int cr3, int cr4, int[] dr, int gdtrBase, int gdtrLimit, int idtrBase, int idtrLimit, int ldtrSel,
        int ldtrBase, int ldtrLimit, int trSel, int trBase, int trLimit, int trAttr, int sysenterCs, int sysenterEsp,
        int sysenterEip, long pat, long mtrrDefType, long[] mtrrFixed, long[] mtrrVar, long miscEnable, long tscOffset,
        int tscAux, long efer, boolean halted, boolean interruptShadow, boolean tripleFault, boolean nmiBlocked, FpuState fpu,
        long[] xmm) {

    /** "XJCP": a CPU state record. */
    public static final int MAGIC = 0x584a4350;
    public static final int VERSION = 4;
    /** Version 3 had no NMI blocking (no NMIs were delivered then): it reads as not blocked. */
    private static final int VERSION_WITHOUT_NMI = 3;
    /** Version 2 had no XMM registers (SSE was not offered then): they read as zeros. */
    private static final int VERSION_WITHOUT_XMM = 2;
    /** Version 1 had no EFER (NXE was not offered then): it reads as 0. */
    private static final int VERSION_WITHOUT_EFER = 1;

    public CpuState {
        gpr = gpr.clone();
        segSel = segSel.clone();
        segBase = segBase.clone();
        segLimit = segLimit.clone();
        segAttr = segAttr.clone();
        dr = dr.clone();
        mtrrFixed = mtrrFixed.clone();
        mtrrVar = mtrrVar.clone();
        xmm = xmm.clone();
        if (xmm.length != 16) {
            throw new IllegalArgumentException("CPU state needs 16 XMM halves");
        }
        if (gpr.length != 8 || segSel.length != 6 || segBase.length != 6 || segLimit.length != 6 || segAttr.length != 6
                || dr.length != 8 || mtrrFixed.length != 11 || mtrrVar.length != 16) {
            throw new IllegalArgumentException("CPU state arrays have the wrong sizes");
        }
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(512);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static CpuState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        CpuState s = read(in);
        if (in.read() != -1) {
            throw new IOException("CPU state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        ints(out, gpr);
        out.writeInt(eip);
        out.writeInt(eflags);
        ints(out, segSel);
        ints(out, segBase);
        ints(out, segLimit);
        ints(out, segAttr);
        ints(out, new int[] {cpl, cr0, cr2, cr3, cr4});
        ints(out, dr);
        ints(out, new int[] {gdtrBase, gdtrLimit, idtrBase, idtrLimit, ldtrSel, ldtrBase, ldtrLimit, trSel, trBase, trLimit,
            trAttr, sysenterCs, sysenterEsp, sysenterEip, tscAux});
        out.writeLong(pat);
        out.writeLong(mtrrDefType);
        for (long v : mtrrFixed) {
            out.writeLong(v);
        }
        for (long v : mtrrVar) {
            out.writeLong(v);
        }
        out.writeLong(miscEnable);
        out.writeLong(tscOffset);
        out.writeLong(efer);
        out.writeByte((halted ? 1 : 0) | (interruptShadow ? 2 : 0) | (tripleFault ? 4 : 0) | (fpu != null ? 8 : 0)
                | (nmiBlocked ? 0x10 : 0));
        if (fpu != null) {
            fpu.write(out);
        }
        for (long v : xmm) {
            out.writeLong(v);
        }
    }

    @Override
    public long[] xmm() {
        return xmm.clone();
    }

    public static CpuState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a CPU state record");
        }
        int version = in.readInt();
        if (version != VERSION && version != VERSION_WITHOUT_NMI && version != VERSION_WITHOUT_XMM
                && version != VERSION_WITHOUT_EFER) {
            throw new IOException("CPU state record version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        int[] gpr = ints(in, 8);
        int eip = in.readInt();
        int eflags = in.readInt();
        int[] sel = ints(in, 6), base = ints(in, 6), limit = ints(in, 6), attr = ints(in, 6);
        int[] c = ints(in, 5);
        int[] dr = ints(in, 8);
        int[] t = ints(in, 15);
        long pat = in.readLong();
        long defType = in.readLong();
        long[] fixed = new long[11];
        for (int i = 0; i < fixed.length; i++) {
            fixed[i] = in.readLong();
        }
        long[] var = new long[16];
        for (int i = 0; i < var.length; i++) {
            var[i] = in.readLong();
        }
        long misc = in.readLong();
        long tscOffset = in.readLong();
        long efer = version == VERSION_WITHOUT_EFER ? 0 : in.readLong();
        if ((efer & ~CpuSystem.EFER_NXE) != 0) {
            throw new IOException("CPU state record is damaged (EFER 0x" + Long.toHexString(efer) + ")");
        }
        int bits = in.readUnsignedByte();
        if ((bits & ~(version >= VERSION ? 0x1f : 0xf)) != 0 || (c[0] & ~3) != 0) {
            throw new IOException("CPU state record is damaged (flags 0x" + Integer.toHexString(bits) + ", cpl " + c[0] + ")");
        }
        FpuState fpu = (bits & 8) != 0 ? FpuState.read(in) : null;
        long[] xmm = new long[16];
        if (version >= VERSION_WITHOUT_NMI) {
            for (int i = 0; i < 16; i++) {
                xmm[i] = in.readLong();
            }
        }
        return new CpuState(gpr, eip, eflags, sel, base, limit, attr, c[0], c[1], c[2], c[3], c[4], dr, t[0], t[1], t[2], t[3],
                t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13], pat, defType, fixed, var, misc, tscOffset, t[14], efer,
                (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 0x10) != 0, fpu, xmm);
    }

    private static void ints(DataOutput out, int[] v) throws IOException {
        for (int x : v) {
            out.writeInt(x);
        }
    }

    private static int[] ints(DataInput in, int n) throws IOException {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = in.readInt();
        }
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CpuState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
