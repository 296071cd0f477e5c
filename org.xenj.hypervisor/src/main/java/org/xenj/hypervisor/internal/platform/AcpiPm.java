package org.xenj.hypervisor.internal.platform;

import org.xenj.hypervisor.internal.exec.VirtualClock;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * The ACPI fixed hardware a directly booted guest finds through the FADT (ACPI 6.4 §4.8): one
 * 16-port block at {@link #BASE}, laid out as on the PIIX4 — PM1a_STS (+0, 16 bits), PM1a_EN (+2),
 * PM1a_CNT (+4) and the power-management timer PM_TMR (+8, 32 bits read, 24 significant) — then
 * the general-purpose event block GPE0 (+12: GPE0_STS, 16 bits, write 1 to clear; +14: GPE0_EN).
 *
 * <p>The timer counts at 3.579545 MHz from the domain's one {@link VirtualClock} (guest time since
 * power-on), so it agrees with the PIT, the TSC and the RTC the guest calibrates it against (Linux's
 * acpi_pm refuses a timer off by more than 5 % from PIT channel 2). It has no state of its own: a
 * restored domain's timer follows its restored guest time.
 *
 * <p>The FADT names no SMI command port, so ACPI counts as enabled from power-on: SCI_EN reads 1
 * and cannot be cleared. Writing SLP_EN with SLP_TYP = {@link #SLP_TYP_S5} (the DSDT's {@code _S5})
 * powers the domain off — Linux's ACPI poweroff; other sleep types are not offered by the DSDT and are
 * ignored with a log line. No PM1 status bit is ever raised (no fixed power/sleep buttons, TMR_EN
 * unimplemented); PM1a_EN is kept as the guest wrote it.
 *
 * <p>GPE {@link #GPE_VMGENID} is the VM Generation ID's: {@link #newGeneration} writes a new ID where
 * the DSDT's {@code \_SB.VGEN.ADDR} points and sets its status bit; the DSDT's {@code \_GPE._E01}
 * then runs {@code Notify (\_SB.VGEN, 0x80)} and Linux's vmgenid driver reseeds its RNG. The SCI
 * ({@link #SCI_IRQ}, level-triggered as the MADT says) is asserted exactly while
 * {@code GPE0_STS & GPE0_EN} is not 0 — the guest clears the status bit (write 1) to end it.
 */
public final class AcpiPm implements IoHandler {

    /** The block's first port (above the legacy ISA range, below the PCI I/O BARs at 0xC000). */
    public static final int BASE = 0xb000;
    public static final int PORTS = 16;
    public static final int PM1_EVT_OFFSET = 0, PM1_CNT_OFFSET = 4, PM_TMR_OFFSET = 8, GPE0_OFFSET = 12;
    public static final int PM1_EVT_LEN = 4, PM1_CNT_LEN = 2, PM_TMR_LEN = 4;
    /** GPE0_BLK_LEN: a 16-bit status register then a 16-bit enable register (16 GPEs). */
    public static final int GPE0_LEN = 4;
    /** The GPE whose {@code _E01} method notifies the VM Generation ID device (GPE 0 stays free: ACPICA's acpiexec, the tests' oracle, claims it as a level GPE of its own). */
    public static final int GPE_VMGENID = 1;
    /** Bytes in a VM generation ID (a 128-bit value, as Hyper-V's and Linux's vmgenid.c define it). */
    public static final int GENERATION_ID_SIZE = 16;
    /** The timer's frequency in Hz (ACPI: 3.579545 MHz). */
    public static final long TIMER_HZ = 3_579_545;
    /** The FADT's SLP_TYP for S5 (soft off), as the DSDT's {@code _S5} package says. */
    public static final int SLP_TYP_S5 = 5;
    /** The SCI's ISA IRQ (free of the PCI links' IRQs 10 and 11). */
    public static final int SCI_IRQ = 9;

    static final int SCI_EN = 1, SLP_EN = 1 << 13, SLP_TYP_SHIFT = 10, SLP_TYP_MASK = 7 << SLP_TYP_SHIFT;
    /** The PM1 enable bits that exist in hardware: TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN. */
    static final int PM1_EN_MASK = 1 | 1 << 5 | 1 << 8 | 1 << 9 | 1 << 10;

    private final TimeSource clock;
    private final long epochNanos;
    private final Runnable powerOff;
    private final java.util.function.Consumer<String> log;
    /** The SCI's input (null: not wired, as in the timer-only tests). */
    private final IrqLine sci;
    private int enable;
    private int gpeStatus, gpeEnable;
    /** Guest-physical address of the generation ID the DSDT names; 0: the DSDT has no VGEN device. */
    private long generationIdAddress;
    /** The SCI level last driven, so that only changes reach the interrupt controllers. */
    private boolean sciLevel;
    /** PM1a_CNT's writable bits (SLP_TYP, GBL_RLS, BM_RLD); SLP_EN is write-only and SCI_EN always reads 1. */
    private int control = SCI_EN;

    /**
     * @param clock      the domain's clock ({@link VirtualClock#nanoTime} scale)
     * @param epochNanos the instant of power-on: timer value 0
     * @param powerOff   run on an S5 request (outside this device's lock)
     */
    public AcpiPm(TimeSource clock, long epochNanos, Runnable powerOff, java.util.function.Consumer<String> log) {
        this(clock, epochNanos, powerOff, log, null);
    }

    /** @param sci the SCI's line ({@link #SCI_IRQ} on it), driven while a GPE is both raised and enabled */
    public AcpiPm(TimeSource clock, long epochNanos, Runnable powerOff, java.util.function.Consumer<String> log, IrqLine sci) {
        this.clock = clock;
        this.epochNanos = epochNanos;
        this.powerOff = powerOff;
        this.log = log;
        this.sci = sci;
    }

    /** The timer's 24-bit value now. */
    public int timer() {
        long guestNanos = clock.nanoTime() - epochNanos;
        return (int) (VirtualClock.scale(Math.max(0, guestNanos), TIMER_HZ, VirtualClock.NS_PER_S) & 0xff_ffff);
    }

    @Override
    public int ioRead(int offset, int size) {
        if (offset >= GPE0_OFFSET) {
            int word;
            synchronized (this) {
                word = gpeStatus | gpeEnable << 16;
            }
            return word >>> (8 * (offset - GPE0_OFFSET));
        }
        if (offset >= PM_TMR_OFFSET) {
            // PM_TMR is a 32-bit register; byte and word reads get the matching part (bits 24-31 read 0)
            return timer() >>> (8 * (offset - PM_TMR_OFFSET));
        }
        int word;
        synchronized (this) {
            word = offset < PM1_CNT_OFFSET ? enable << 16 : (control | SCI_EN) & ~SLP_EN;
        }
        // status (0) and enable in one 32-bit view for the event block; the control block is 16 bits (then ones)
        int base = offset < PM1_CNT_OFFSET ? PM1_EVT_OFFSET : PM1_CNT_OFFSET;
        long wide = offset < PM1_CNT_OFFSET ? word & 0xffffffffL : (word & 0xffffL) | 0xffff_0000L;
        return (int) (wide >>> (8 * (offset - base)));
    }

    @Override
    public void ioWrite(int offset, int size, int value) {
        if (offset >= GPE0_OFFSET) {
            synchronized (this) {
                // bytes 0-1 status (write 1 to clear), bytes 2-3 enable
                int shift = 8 * (offset - GPE0_OFFSET);
                long mask = (size >= 4 ? 0xffffffffL : (1L << (8 * size)) - 1) << shift & 0xffffffffL;
                long bits = ((long) value << shift) & mask;
                gpeStatus &= ~(int) bits & 0xffff;
                gpeEnable = (int) ((gpeEnable << 16 & ~mask | bits) >>> 16) & 0xffff;
                updateSci();
            }
            return;
        }
        if (offset >= PM_TMR_OFFSET) {
            return; // the timer is read-only
        }
        boolean off = false;
        int type = -1;
        synchronized (this) {
            if (offset < PM1_CNT_OFFSET) {
                // the event block as bytes 0-3: status (write 1 to clear; nothing is ever set) then enable
                int shift = 8 * offset;
                long mask = (size >= 4 ? 0xffffffffL : (1L << (8 * size)) - 1) << shift;
                long word = ((long) enable << 16 & ~mask | ((long) value << shift) & mask) & 0xffffffffL;
                enable = (int) (word >>> 16) & PM1_EN_MASK;
            } else {
                int shift = 8 * (offset - PM1_CNT_OFFSET);
                int mask = (size >= 2 ? 0xffff : 0xff) << shift & 0xffff;
                int v = control & ~mask | value << shift & mask;
                control = (v & ~SLP_EN) | SCI_EN;
                if ((v & SLP_EN) != 0) {
                    type = (v & SLP_TYP_MASK) >>> SLP_TYP_SHIFT;
                    off = type == SLP_TYP_S5;
                }
            }
        }
        if (off) {
            log.accept("ACPI: the guest entered S5 (PM1a_CNT SLP_EN, SLP_TYP " + SLP_TYP_S5 + "): powering off");
            powerOff.run();
        } else if (type >= 0) {
            log.accept("ACPI: sleep type " + type + " requested; only S5 is offered, ignored");
        }
    }

    /** Power-on state: nothing enabled or raised, SCI_EN set (the generation ID's place stays: the DSDT names it). */
    public synchronized void reset() {
        enable = 0;
        control = SCI_EN;
        gpeStatus = 0;
        gpeEnable = 0;
        updateSci();
    }

    public synchronized AcpiPmState saveState() {
        return new AcpiPmState(enable, gpeStatus, gpeEnable, generationIdAddress);
    }

    /**
     * Loads {@code s} and drives the SCI to its level; SCI_EN stays set, no sleep is pending. A
     * record without a generation ID address (version 1, or tables without VGEN) leaves the domain
     * without the device: its memory came with that record and holds no DSDT that names one.
     */
    public synchronized void restoreState(AcpiPmState s) {
        enable = s.enable();
        control = SCI_EN;
        gpeStatus = s.gpeStatus();
        gpeEnable = s.gpeEnable();
        generationIdAddress = s.generationIdAddress();
        updateSci();
    }

    /** Where the DSDT the builder wrote puts the generation ID (0: none). Call before the vCPUs run. */
    public synchronized void setGenerationIdAddress(long address) {
        generationIdAddress = address;
    }

    /** The generation ID's guest-physical address; 0 when this domain's DSDT has no VGEN device. */
    public synchronized long generationIdAddress() {
        return generationIdAddress;
    }

    /**
     * A new generation: writes {@code id} where the DSDT's {@code ADDR} points, then raises GPE
     * {@link #GPE_VMGENID} (the SCI follows if the guest enabled it; else the status waits for it).
     *
     * @return false, with nothing written, when the domain has no VGEN device
     */
    public synchronized boolean newGeneration(org.xenj.hypervisor.spi.GuestMemory memory, byte[] id) {
        if (id.length != GENERATION_ID_SIZE) {
            throw new IllegalArgumentException("a generation ID has " + GENERATION_ID_SIZE + " bytes, not " + id.length);
        }
        if (generationIdAddress == 0) {
            return false;
        }
        // the ID first, the event after: the guest's notify handler reads the new value
        memory.write(generationIdAddress, id, 0, id.length);
        gpeStatus |= 1 << GPE_VMGENID;
        updateSci();
        return true;
    }

    /** GPE0_STS as it stands (tests, debug state). */
    public synchronized int gpeStatus() {
        return gpeStatus;
    }

    /** Whether the SCI is asserted now: a GPE raised and enabled. */
    public synchronized boolean sciAsserted() {
        return (gpeStatus & gpeEnable) != 0;
    }

    /** Under the lock (the fabric's own lock nests inside it; the fabric never calls back here). */
    private void updateSci() {
        boolean level = (gpeStatus & gpeEnable) != 0;
        if (level != sciLevel) {
            sciLevel = level;
            if (sci != null) {
                sci.set(SCI_IRQ, level);
            }
        }
    }

    /** PM1a_EN as the guest last wrote it (for the platform's debug state and tests). */
    public synchronized int enable() {
        return enable;
    }
}
