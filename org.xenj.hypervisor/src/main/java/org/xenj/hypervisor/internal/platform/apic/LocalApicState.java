package org.xenj.hypervisor.internal.platform.apic;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;

/**
 * Every guest-visible bit of one {@link LocalApic}: ID, the APIC base MSR, IRR/ISR/TMR, TPR, LDR,
 * DFR, SVR, ESR, ICR, the six LVT entries and the timer — its initial count, divider, how long it
 * has been counting (ns of the domain's clock, not a host instant: a restore happens at another
 * instant) and how many expiries it has already delivered. PPR is derived. Versioned bytes;
 * {@link #fromBytes} refuses another version or a damaged record, the constructor any value the
 * register model could not hold.
 *
 * @param id               APIC ID
 * @param baseMsr          IA32_APIC_BASE (base, enable, BSP)
 * @param irr              interrupt request register, 8 x 32 bits
 * @param isr              in-service register
 * @param tmr              trigger mode register (bit set: level)
 * @param tpr              task priority
 * @param ldr              logical destination
 * @param dfr              destination format
 * @param svr              spurious vector register (bit 8: software enable)
 * @param esr              error status
 * @param icrLow           interrupt command, low dword (as last written)
 * @param icrHigh          interrupt command, destination
 * @param lvt              timer, thermal, perfmon, LINT0, LINT1, error
 * @param initialCount     timer initial count
 * @param divideConfig     timer divide configuration
 * @param timerElapsedNanos ns since the timer (re)started counting; 0 when it has no count
 * @param timerFired       expiries delivered since then
 * @param waitForSipi      the processor waits for a STARTUP IPI (an AP after power-on or INIT)
 * @param initPending      an INIT message the vCPU has not acted on yet
 * @param sipiVector       a STARTUP message's vector the vCPU has not acted on yet, or -1
 * @param nmiPending       an NMI message the vCPU has not taken yet
 */
public record LocalApicState(int id, long baseMsr, int[] irr, int[] isr, int[] tmr, int tpr, int ldr, int dfr, int svr, int esr,
        int icrLow, int icrHigh, int[] lvt, int initialCount, int divideConfig, long timerElapsedNanos, long timerFired,
        boolean waitForSipi, boolean initPending, int sipiVector, boolean nmiPending) {

    /** "XJL1". */
    public static final int MAGIC = 0x584a4c31;
    public static final int VERSION = 2;
    /** Version 1 had no start-up or NMI state (one vCPU, no INIT/SIPI/NMI): it reads as a running processor with nothing pending. */
    private static final int VERSION_UNIPROCESSOR = 1;
    /** 2^60 ns (36 years): keeps every expiry derived from the start instant far from long overflow. */
    public static final long MAX_ELAPSED_NANOS = 1L << 60;

    public LocalApicState {
        irr = irr.clone();
        isr = isr.clone();
        tmr = tmr.clone();
        lvt = lvt.clone();
        if (irr.length != 8 || isr.length != 8 || tmr.length != 8 || lvt.length != 6) {
            throw new IllegalArgumentException("local APIC state arrays have the wrong sizes");
        }
        if ((id & ~0xff) != 0 || (baseMsr & ~(LocalApic.BASE_ENABLE | LocalApic.BASE_BSP)) != LocalApic.DEFAULT_BASE) {
            throw new IllegalArgumentException("local APIC state: ID " + id + ", base MSR 0x" + Long.toHexString(baseMsr));
        }
        // Vectors 0-15 are illegal: they never reach IRR, ISR or TMR.
        if (((irr[0] | isr[0] | tmr[0]) & 0xffff) != 0) {
            throw new IllegalArgumentException("local APIC state: vectors 0-15 pending or in service");
        }
        if ((tpr & ~0xff) != 0 || (ldr & 0x00ffffff) != 0 || (dfr & 0x0fffffff) != 0x0fffffff
                || (svr & ~0x3ff) != 0 || (esr & ~0xff) != 0 || (icrLow & 1 << 12) != 0 || (icrHigh & 0x00ffffff) != 0
                || (divideConfig & ~0xb) != 0) {
            throw new IllegalArgumentException("local APIC state: a register holds bits it cannot hold");
        }
        for (int i = 0; i < lvt.length; i++) {
            // A software-disabled APIC keeps every LVT entry masked.
            if ((lvt[i] & ~LocalApic.LVT_WRITABLE[i]) != 0 || (svr & LocalApic.SVR_ENABLE) == 0 && (lvt[i] & LocalApic.LVT_MASKED) == 0) {
                throw new IllegalArgumentException("local APIC state: LVT entry " + i + " is 0x" + Integer.toHexString(lvt[i]));
            }
        }
        if (timerElapsedNanos < 0 || timerElapsedNanos > MAX_ELAPSED_NANOS || initialCount == 0 && timerElapsedNanos != 0) {
            throw new IllegalArgumentException("local APIC state: timer running for " + timerElapsedNanos + " ns");
        }
        boolean isBsp = (baseMsr & LocalApic.BASE_BSP) != 0;
        if (sipiVector < -1 || sipiVector > 0xff || sipiVector >= 0 && (isBsp || !waitForSipi && !initPending)
                || waitForSipi && isBsp) {
            throw new IllegalArgumentException("local APIC state: start-up state (wait " + waitForSipi + ", SIPI vector "
                    + sipiVector + ") does not fit a" + ((baseMsr & LocalApic.BASE_BSP) != 0 ? " BSP" : "n AP"));
        }
        long maxFired = initialCount == 0 ? 0
                : timerElapsedNanos / LocalApic.tickNanos(LocalApic.divideShift(divideConfig)) / (initialCount & 0xffffffffL) + 1;
        if (timerFired < 0 || timerFired > maxFired) {
            throw new IllegalArgumentException("local APIC state: " + timerFired + " timer expiries delivered");
        }
    }

    /** A running processor with no INIT, STARTUP or NMI pending (the version 1 record's meaning). */
    public LocalApicState(int id, long baseMsr, int[] irr, int[] isr, int[] tmr, int tpr, int ldr, int dfr, int svr, int esr,
            int icrLow, int icrHigh, int[] lvt, int initialCount, int divideConfig, long timerElapsedNanos, long timerFired) {
        this(id, baseMsr, irr, isr, tmr, tpr, ldr, dfr, svr, esr, icrLow, icrHigh, lvt, initialCount, divideConfig,
                timerElapsedNanos, timerFired, false, false, -1, false);
    }

    @Override
    public int[] irr() {
        return irr.clone();
    }

    @Override
    public int[] isr() {
        return isr.clone();
    }

    @Override
    public int[] tmr() {
        return tmr.clone();
    }

    @Override
    public int[] lvt() {
        return lvt.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(192);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static LocalApicState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        LocalApicState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("local APIC state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("local APIC state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeInt(id);
        out.writeLong(baseMsr);
        for (int[] a : new int[][] {irr, isr, tmr, lvt}) {
            for (int v : a) {
                out.writeInt(v);
            }
        }
        for (int v : new int[] {tpr, ldr, dfr, svr, esr, icrLow, icrHigh, initialCount, divideConfig}) {
            out.writeInt(v);
        }
        out.writeLong(timerElapsedNanos);
        out.writeLong(timerFired);
        out.writeByte((waitForSipi ? 1 : 0) | (initPending ? 2 : 0) | (nmiPending ? 4 : 0) | (sipiVector >= 0 ? 8 : 0));
        out.writeByte(Math.max(sipiVector, 0));
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static LocalApicState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a local APIC state record");
        }
        int version = in.readInt();
        if (version != VERSION && version != VERSION_UNIPROCESSOR) {
            throw new IOException("local APIC state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        int id = in.readInt();
        long base = in.readLong();
        int[] irr = ints(in, 8), isr = ints(in, 8), tmr = ints(in, 8), lvt = ints(in, 6), r = ints(in, 9);
        long elapsed = in.readLong();
        long fired = in.readLong();
        int startup = 0, vector = 0;
        if (version >= VERSION) {
            startup = in.readUnsignedByte();
            vector = in.readUnsignedByte();
            if ((startup & ~0xf) != 0 || (startup & 8) == 0 && vector != 0) {
                throw new IOException("local APIC state record is damaged (start-up bits 0x" + Integer.toHexString(startup) + ")");
            }
        }
        try {
            return new LocalApicState(id, base, irr, isr, tmr, r[0], r[1], r[2], r[3], r[4], r[5], r[6], lvt, r[7], r[8], elapsed,
                    fired, (startup & 1) != 0, (startup & 2) != 0, (startup & 8) != 0 ? vector : -1, (startup & 4) != 0);
        } catch (IllegalArgumentException e) {
            throw new IOException("local APIC state record is damaged: " + e.getMessage(), e);
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
        return o instanceof LocalApicState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
