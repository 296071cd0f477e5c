package org.xenj.hypervisor.internal.platform.apic;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.platform.TimeSource;
import org.xenj.hypervisor.spi.MmioHandler;

/**
 * One vCPU's local APIC in xAPIC mode (MMIO page at 0xFEE00000): ID, version, TPR/PPR, EOI, SVR,
 * IRR/ISR/TMR, ESR, ICR (IPIs and self-IPIs), the LVT and the timer (one-shot and periodic, with
 * divider and current count). Register layout and semantics from the Intel SDM vol. 3, ch. 10.
 * Not locked by itself: every entry point runs under the fabric lock it is given.
 */
public final class LocalApic {

    public static final long DEFAULT_BASE = 0xfee00000L;
    public static final int MSR_APIC_BASE = 0x1b;
    static final long BASE_ENABLE = 1L << 11;
    static final long BASE_BSP = 1L << 8;

    /** Version 0x14 (integrated APIC), max LVT entry 5 (timer, thermal, perfmon, LINT0, LINT1, error). */
    static final int VERSION = 0x00050014;
    /** The version register (firmware tables copy its low byte). */
    public static final int VERSION_REGISTER = VERSION;
    /** Bus clock driving the timer: 1 GHz, i.e. one tick per nanosecond before the divider. */
    static final long BUS_HZ = org.xenj.hypervisor.internal.exec.VirtualClock.APIC_BUS_HZ;

    static final int LVT_TIMER = 0, LVT_THERMAL = 1, LVT_PERF = 2, LVT_LINT0 = 3, LVT_LINT1 = 4, LVT_ERROR = 5;
    static final int LVT_MASKED = 1 << 16;
    static final int[] LVT_WRITABLE = {0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff};
    public static final int DM_FIXED = 0, DM_LOWEST = 1, DM_NMI = 4, DM_INIT = 5, DM_STARTUP = 6, DM_EXTINT = 7;
    static final int SVR_ENABLE = 1 << 8;

    private final Object lock;
    private final TimeSource clock;
    private final Runnable changed;
    private final boolean bsp;
    private ApicBus bus;

    private int id;
    private long baseMsr;
    final int[] irr = new int[8];
    final int[] isr = new int[8];
    final int[] tmr = new int[8];
    private int tpr;
    private int ldr;
    private int dfr;
    private int svr;
    private int esr;
    private int icrLow;
    private int icrHigh;
    private final int[] lvt = new int[6];
    private int initialCount;
    private int divideConfig;
    private int divideShift;
    private long timerStart;
    /** Timer expiries already delivered since {@link #timerStart}. */
    private long timerFired;

    // ---- the processor's start-up and NMI pins, as messages reach them (SDM vol. 3, 8.4 and 10.6) ----
    /** An AP after power-on or INIT: it runs nothing until a STARTUP IPI names its first page. */
    private boolean waitForSipi;
    /** An INIT message not yet acted on by the vCPU (it resets the processor). */
    private boolean initPending;
    /** The vector of a STARTUP message accepted while waiting for one, or -1. */
    private int sipiVector = -1;
    /** An NMI message not yet taken by the vCPU (NMIs do not queue: a second one while pending merges). */
    private boolean nmiPending;

    /** {@link #takeProcessorEvent} results: the kind in the low byte, a SIPI's vector in bits 8-15. */
    public static final int EVENT_NONE = CpuEnvironment.EVENT_NONE, EVENT_INIT = CpuEnvironment.EVENT_INIT,
            EVENT_SIPI = CpuEnvironment.EVENT_SIPI, EVENT_NMI = CpuEnvironment.EVENT_NMI;

    public LocalApic(Object lock, TimeSource clock, int id, boolean bsp, Runnable changed) {
        this.lock = lock;
        this.clock = clock;
        this.id = id;
        this.bsp = bsp;
        this.changed = changed;
        reset();
        this.waitForSipi = !bsp; // power-on: the BSP runs, every AP waits for its STARTUP IPI
    }

    public void setBus(ApicBus bus) {
        this.bus = bus;
    }

    private Runnable timerChanged = () -> { };

    /** Told (under the lock; it must only set a flag) when the timer is reprogrammed. */
    public void setTimerChanged(Runnable timerChanged) {
        this.timerChanged = timerChanged;
    }

    /**
     * Power-on state followed by what firmware leaves for an OS (virtual-wire mode, as Xen's
     * hvmloader sets it up): APIC enabled, LINT0 = ExtINT from the PIC, LINT1 = NMI.
     */
    public void reset() {
        synchronized (lock) {
            powerOnRegisters();
            svr = SVR_ENABLE | 0xff;
            lvt[LVT_LINT0] = DM_EXTINT << 8;
            lvt[LVT_LINT1] = DM_NMI << 8;
            waitForSipi = !bsp;
            initPending = false;
            sipiVector = -1;
            nmiPending = false;
            changed.run();
        }
    }

    /** The registers as power-on or INIT leaves them (SDM 10.4.7.1): software-disabled, every LVT masked. */
    private void powerOnRegisters() {
        baseMsr = DEFAULT_BASE | BASE_ENABLE | (bsp ? BASE_BSP : 0);
        java.util.Arrays.fill(irr, 0);
        java.util.Arrays.fill(isr, 0);
        java.util.Arrays.fill(tmr, 0);
        tpr = 0;
        ldr = 0;
        dfr = 0xffffffff;
        esr = 0;
        icrLow = 0;
        icrHigh = 0;
        java.util.Arrays.fill(lvt, LVT_MASKED);
        initialCount = 0;
        divideConfig = 0;
        divideShift = 1;
        timerFired = 0;
        svr = 0xff;
    }

    /** Every guest-visible bit, the timer as time elapsed on the domain's clock. */
    public LocalApicState saveState() {
        synchronized (lock) {
            // Without an initial count the start instant is never looked at (writing a count resets it).
            long elapsed = initialCount == 0 ? 0
                    : Math.min(Math.max(0, clock.nanoTime() - timerStart), LocalApicState.MAX_ELAPSED_NANOS);
            return new LocalApicState(id, baseMsr, irr, isr, tmr, tpr, ldr, dfr, svr, esr, icrLow, icrHigh, lvt, initialCount,
                    divideConfig, elapsed, initialCount == 0 ? 0 : timerFired, waitForSipi, initPending, sipiVector, nmiPending);
        }
    }

    /**
     * Puts this APIC in {@code s}, its timer going on from where it stood; the fabric recomputes
     * the vCPU's interrupt output and the platform re-arms the timer.
     *
     * @throws IllegalArgumentException if {@code s} has the BSP flag and this APIC is not the BSP's, or the reverse
     */
    public void restoreState(LocalApicState s) {
        if (((s.baseMsr() & BASE_BSP) != 0) != bsp) {
            throw new IllegalArgumentException("local APIC state of " + (bsp ? "an AP" : "the BSP") + " given to "
                    + (bsp ? "the BSP" : "an AP"));
        }
        synchronized (lock) {
            id = s.id();
            baseMsr = s.baseMsr();
            System.arraycopy(s.irr(), 0, irr, 0, 8);
            System.arraycopy(s.isr(), 0, isr, 0, 8);
            System.arraycopy(s.tmr(), 0, tmr, 0, 8);
            tpr = s.tpr();
            ldr = s.ldr();
            dfr = s.dfr();
            svr = s.svr();
            esr = s.esr();
            icrLow = s.icrLow();
            icrHigh = s.icrHigh();
            System.arraycopy(s.lvt(), 0, lvt, 0, lvt.length);
            initialCount = s.initialCount();
            divideConfig = s.divideConfig();
            divideShift = divideShift(divideConfig);
            timerStart = clock.nanoTime() - s.timerElapsedNanos();
            timerFired = s.timerFired();
            waitForSipi = s.waitForSipi();
            initPending = s.initPending();
            sipiVector = s.sipiVector();
            nmiPending = s.nmiPending();
            timerChanged.run();
            changed.run();
        }
    }

    /** TPR, for lowest-priority arbitration. */
    public int taskPriority() {
        synchronized (lock) {
            return tpr;
        }
    }

    public int id() {
        synchronized (lock) {
            return id;
        }
    }

    public long baseMsr() {
        synchronized (lock) {
            return baseMsr;
        }
    }

    /** WRMSR IA32_APIC_BASE. Relocation is not supported (Linux never moves it); returns false then. */
    public boolean writeBaseMsr(long value) {
        synchronized (lock) {
            if ((value & ~0xfffL) != DEFAULT_BASE || (value & ~(0xfffff000L | BASE_ENABLE | BASE_BSP)) != 0) {
                return false;
            }
            baseMsr = value & ~BASE_BSP | (bsp ? BASE_BSP : 0);
            changed.run();
            return true;
        }
    }

    public boolean hardwareEnabled() {
        return (baseMsr & BASE_ENABLE) != 0;
    }

    private boolean softwareEnabled() {
        return (svr & SVR_ENABLE) != 0;
    }

    /** Whether the PIC's INTR reaches this CPU: APIC off, or LINT0 programmed as unmasked ExtINT. */
    public boolean acceptsPicInterrupts() {
        synchronized (lock) {
            if (!hardwareEnabled()) {
                return true;
            }
            return softwareEnabled() && (lvt[LVT_LINT0] & (0x700 | LVT_MASKED)) == DM_EXTINT << 8;
        }
    }

    // ---- interrupt acceptance ----

    private static int highest(int[] bits) {
        for (int i = 7; i >= 0; i--) {
            if (bits[i] != 0) {
                return i << 5 | 31 - Integer.numberOfLeadingZeros(bits[i]);
            }
        }
        return -1;
    }

    private static boolean test(int[] bits, int v) {
        return (bits[v >>> 5] & 1 << (v & 31)) != 0;
    }

    private static void set(int[] bits, int v, boolean on) {
        if (on) {
            bits[v >>> 5] |= 1 << (v & 31);
        } else {
            bits[v >>> 5] &= ~(1 << (v & 31));
        }
    }

    /** Accepts a fixed interrupt into the IRR. Vectors 0-15 are illegal (ESR "receive illegal vector"). */
    public void accept(int vector, boolean level) {
        synchronized (lock) {
            if (!hardwareEnabled() || !softwareEnabled()) {
                return; // a disabled APIC discards fixed interrupts
            }
            if (vector < 16) {
                esr |= 0x40;
                return;
            }
            set(irr, vector, true);
            set(tmr, vector, level);
            changed.run();
        }
    }

    private int processorPriority() {
        int isrv = Math.max(highest(isr), 0);
        return (tpr & 0xf0) >= (isrv & 0xf0) ? tpr & 0xff : isrv & 0xf0;
    }

    /** Whether an IRR vector beats the processor priority (the CPU's INTR from this APIC). */
    public boolean interruptDeliverable() {
        synchronized (lock) {
            int v = highest(irr);
            return v >= 0 && hardwareEnabled() && (v & 0xf0) > (processorPriority() & 0xf0);
        }
    }

    /** INTA: moves the highest deliverable IRR vector to the ISR and returns it, or -1. */
    public int acknowledge() {
        synchronized (lock) {
            if (!interruptDeliverable()) {
                return -1;
            }
            int v = highest(irr);
            set(irr, v, false);
            set(isr, v, true);
            changed.run();
            return v;
        }
    }

    private void endOfInterrupt() {
        int v = highest(isr);
        if (v < 0) {
            return;
        }
        set(isr, v, false);
        if (test(tmr, v) && bus != null) {
            bus.endOfInterrupt(v);
        }
        changed.run();
    }

    // ---- timer ----

    private int timerMode() {
        return lvt[LVT_TIMER] >>> 17 & 3;
    }

    private long tickNanos() {
        return tickNanos(divideShift);
    }

    static long tickNanos(int divideShift) {
        return (1L << divideShift) * 1_000_000_000L / BUS_HZ;
    }

    /** log2 of the divisor a divide configuration selects (0b1011 is divide by 1). */
    static int divideShift(int divideConfig) {
        int code = (divideConfig & 3) | (divideConfig & 8) >>> 1;
        return (code + 1) & 7;
    }

    private long elapsedTicks(long now) {
        return Math.max(0, now - timerStart) / tickNanos();
    }

    private int currentCount(long now) {
        if (initialCount == 0) {
            return 0;
        }
        long t = elapsedTicks(now);
        long init = initialCount & 0xffffffffL;
        if (timerMode() == 1) {
            return (int) (init - t % init);
        }
        return t >= init ? 0 : (int) (init - t);
    }

    /** The instant of the next timer expiry, or Long.MAX_VALUE. */
    private long nextExpiry() {
        if (initialCount == 0 || timerMode() > 1) {
            return Long.MAX_VALUE;
        }
        long period = (initialCount & 0xffffffffL) * tickNanos();
        if (timerMode() == 0 && timerFired > 0) {
            return Long.MAX_VALUE;
        }
        return timerStart + (timerFired + 1) * period;
    }

    /** Delivers a due timer interrupt; returns the next expiry (or Long.MAX_VALUE). */
    public long service(long now) {
        synchronized (lock) {
            long due = nextExpiry();
            if (now >= due) {
                long period = (initialCount & 0xffffffffL) * tickNanos();
                timerFired = timerMode() == 1 ? Math.max(timerFired + 1, (now - timerStart) / period) : 1;
                if ((lvt[LVT_TIMER] & LVT_MASKED) == 0) {
                    accept(lvt[LVT_TIMER] & 0xff, false);
                }
            }
            return nextExpiry();
        }
    }

    // ---- registers ----

    public int readRegister(int offset) {
        synchronized (lock) {
            int reg = offset & 0xff0;
            if (reg >= 0x100 && reg < 0x280) {
                int i = (reg - 0x100) >>> 4 & 7;
                return reg < 0x180 ? isr[i] : reg < 0x200 ? tmr[i] : irr[i];
            }
            return switch (reg) {
                case 0x020 -> id << 24;
                case 0x030 -> VERSION;
                case 0x080 -> tpr;
                case 0x090 -> 0; // arbitration priority: not modelled
                case 0x0a0 -> processorPriority();
                case 0x0d0 -> ldr;
                case 0x0e0 -> dfr;
                case 0x0f0 -> svr;
                case 0x280 -> esr;
                case 0x300 -> icrLow & ~(1 << 12); // delivery is instantaneous: never "send pending"
                case 0x310 -> icrHigh;
                case 0x320, 0x330, 0x340, 0x350, 0x360, 0x370 -> lvt[(reg - 0x320) >>> 4];
                case 0x380 -> initialCount;
                case 0x390 -> currentCount(clock.nanoTime());
                case 0x3e0 -> divideConfig;
                default -> 0;
            };
        }
    }

    public void writeRegister(int offset, int value) {
        synchronized (lock) {
            int reg = offset & 0xff0;
            switch (reg) {
                case 0x020 -> id = value >>> 24;
                case 0x080 -> {
                    tpr = value & 0xff;
                    changed.run();
                }
                case 0x0b0 -> endOfInterrupt();
                case 0x0d0 -> ldr = value & 0xff000000;
                case 0x0e0 -> dfr = value | 0x0fffffff;
                case 0x0f0 -> {
                    svr = value & 0x3ff;
                    if (!softwareEnabled()) {
                        for (int i = 0; i < lvt.length; i++) {
                            lvt[i] |= LVT_MASKED;
                        }
                    }
                    changed.run();
                }
                case 0x280 -> esr = 0;
                case 0x300 -> {
                    icrLow = value & ~(1 << 12);
                    sendIpi();
                }
                case 0x310 -> icrHigh = value & 0xff000000;
                case 0x320, 0x330, 0x340, 0x350, 0x360, 0x370 -> writeLvt((reg - 0x320) >>> 4, value);
                case 0x380 -> {
                    initialCount = value;
                    timerStart = clock.nanoTime();
                    timerFired = 0;
                    timerChanged.run();
                    changed.run();
                }
                case 0x3e0 -> {
                    long now = clock.nanoTime();
                    long ticksSoFar = elapsedTicks(now);
                    divideConfig = value & 0xb;
                    divideShift = divideShift(divideConfig);
                    // Keep the current count continuous across a divider change.
                    timerStart = now - ticksSoFar * tickNanos();
                    changed.run();
                }
                default -> { } // read-only or reserved
            }
        }
    }

    private void writeLvt(int index, int value) {
        int v = value & LVT_WRITABLE[index];
        if (!softwareEnabled()) {
            v |= LVT_MASKED;
        }
        int oldMode = timerMode();
        lvt[index] = v;
        if (index == LVT_TIMER && oldMode != timerMode()) {
            timerStart = clock.nanoTime();
            timerFired = 0;
        }
        if (index == LVT_TIMER) {
            timerChanged.run();
        }
        changed.run();
    }

    private void sendIpi() {
        int vector = icrLow & 0xff;
        int mode = icrLow >>> 8 & 7;
        boolean logical = (icrLow & 1 << 11) != 0;
        boolean assertLevel = (icrLow & 1 << 14) != 0;
        int shorthand = icrLow >>> 18 & 3;
        if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16) {
            esr |= 0x20; // "send illegal vector": the message does not go out
            return;
        }
        if (mode == DM_INIT && !assertLevel) {
            return; // INIT level de-assert only re-synchronised arbitration IDs on old APICs: no effect
        }
        if (shorthand == 1 && (mode == DM_FIXED || mode == DM_LOWEST)) {
            accept(vector, false); // self-IPI
            return;
        }
        if (bus != null) {
            // IPIs are edge messages: the trigger-mode bit only matters for INIT level de-assert.
            bus.deliver(this, shorthand, logical, icrHigh >>> 24, mode, vector, false);
        }
    }

    /**
     * A message from the bus (an IPI or an IOAPIC redirection): fixed and lowest-priority ones go
     * to the IRR; NMI, INIT and STARTUP latch for the vCPU to act on at its next instruction
     * boundary ({@link #takeProcessorEvent}). A STARTUP reaches only a processor waiting for one
     * (SDM 8.4.4.1: otherwise it is ignored); SMI and ExtINT messages are not modelled (no SMM;
     * ExtINT arrives through LINT0 from the PIC).
     */
    public void receive(int deliveryMode, int vector, boolean level) {
        synchronized (lock) {
            switch (deliveryMode) {
                case DM_FIXED, DM_LOWEST -> accept(vector, level);
                case DM_NMI -> nmiPending = true;
                case DM_INIT -> {
                    initPending = true;
                    sipiVector = -1; // a STARTUP the vCPU has not acted on yet is undone by this INIT
                }
                case DM_STARTUP -> {
                    // The INIT before it took effect at once for the guest, even if the vCPU has
                    // not run since: the AP is then waiting, and the first STARTUP counts.
                    if ((waitForSipi || initPending && !bsp) && sipiVector < 0) {
                        sipiVector = vector & 0xff;
                    }
                }
                default -> {
                    return;
                }
            }
            changed.run();
        }
    }

    /** Whether the vCPU has an INIT, a STARTUP or an NMI to act on (an NMI waits while it waits for SIPI). */
    public boolean processorEventPending() {
        synchronized (lock) {
            return initPending || sipiVector >= 0 || nmiPending && !waitForSipi;
        }
    }

    /** Whether this processor sits in wait-for-SIPI (an AP after power-on or INIT). */
    public boolean waitingForSipi() {
        synchronized (lock) {
            return waitForSipi;
        }
    }

    /**
     * Takes the event the vCPU must act on now, by priority: INIT (this APIC goes back to its
     * power-on state, keeping its ID; an AP then waits for SIPI, the BSP restarts at the reset
     * vector; a STARTUP that came after it is taken next), then STARTUP ({@link #EVENT_SIPI} | vector &lt;&lt; 8; the processor leaves
     * wait-for-SIPI), then NMI if {@code nmiAllowed} (not while a previous NMI's handler runs).
     */
    public int takeProcessorEvent(boolean nmiAllowed) {
        synchronized (lock) {
            int event = EVENT_NONE;
            if (initPending) {
                int keepId = id;
                long keepBase = baseMsr;
                powerOnRegisters();
                id = keepId; // INIT keeps the APIC ID and IA32_APIC_BASE (SDM 10.4.7.3)
                baseMsr = keepBase;
                initPending = false;
                nmiPending = false; // sipiVector stays: it can only have come after the INIT
                waitForSipi = !bsp;
                timerChanged.run();
                event = EVENT_INIT;
            } else if (sipiVector >= 0) {
                event = EVENT_SIPI | sipiVector << 8;
                sipiVector = -1;
                waitForSipi = false;
            } else if (nmiPending && nmiAllowed && !waitForSipi) {
                nmiPending = false;
                event = EVENT_NMI;
            }
            if (event != EVENT_NONE) {
                changed.run();
            }
            return event;
        }
    }

    /** Whether a message with this destination addresses this APIC (physical or flat/cluster logical). */
    public boolean matches(boolean logical, int destination) {
        synchronized (lock) {
            if (!logical) {
                return destination == 0xff || destination == id;
            }
            int logicalId = ldr >>> 24;
            if ((dfr >>> 28) == 0xf) { // flat model
                return (logicalId & destination) != 0;
            }
            // cluster model: high nibble = cluster, low nibble = member bitmap
            return (destination >>> 4 == logicalId >>> 4 || destination >>> 4 == 0xf) && (destination & logicalId & 0xf) != 0;
        }
    }

    /** The next instant the timer needs service, for host wake-ups. */
    public long nextDeadline() {
        synchronized (lock) {
            return nextExpiry();
        }
    }

    /** MMIO view of the register page. Accesses other than aligned 32-bit reads/writes act on the dword. */
    public MmioHandler mmio() {
        return new MmioHandler() {
            @Override
            public long mmioRead(long offset, int size) {
                int value = readRegister((int) offset & 0xffc);
                int shift = (int) (offset & 3) * 8;
                long v = (value & 0xffffffffL) >>> shift;
                return size >= 4 ? v : v & ((1L << (size * 8)) - 1);
            }

            @Override
            public void mmioWrite(long offset, int size, long value) {
                if ((offset & 0xf) == 0) {
                    writeRegister((int) offset & 0xff0, (int) value);
                }
            }
        };
    }
}
