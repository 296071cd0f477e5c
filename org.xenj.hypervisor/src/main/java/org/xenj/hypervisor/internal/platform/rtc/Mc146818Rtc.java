package org.xenj.hypervisor.internal.platform.rtc;

import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

import org.xenj.hypervisor.internal.platform.IrqLine;
import org.xenj.hypervisor.internal.platform.TimeSource;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * The MC146818 real-time clock and its CMOS RAM (index port 0x70, data 0x71), on ISA IRQ8. Time
 * is not ticked: it is the host's wall clock at start-up plus the host's monotonic time since,
 * shifted by whatever the guest set. Registers A-D, BCD/binary, 12/24 hour, update-in-progress,
 * periodic/alarm/update-ended interrupts and the PC's CMOS memory-size bytes follow the datasheet
 * and the PC/AT CMOS map.
 */
public final class Mc146818Rtc {

    public static final int BASE = 0x70;
    public static final int IRQ = 8;

    static final int SECONDS = 0x00, SECONDS_ALARM = 0x01, MINUTES = 0x02, MINUTES_ALARM = 0x03;
    static final int HOURS = 0x04, HOURS_ALARM = 0x05, DAY_OF_WEEK = 0x06, DAY_OF_MONTH = 0x07;
    static final int MONTH = 0x08, YEAR = 0x09, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
    static final int CENTURY = 0x32;

    static final int A_UIP = 0x80;
    static final int B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM_BINARY = 0x04, B_24H = 0x02;
    static final int C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;

    private static final long NS_PER_S = 1_000_000_000L;
    /** The update cycle is announced by UIP 244 us before the registers change. */
    private static final long UIP_WINDOW_NS = 244_000;

    private final TimeSource clock;
    private final IrqLine irq;
    private final byte[] cmos = new byte[128];
    private int index;
    /** Guest time: epoch seconds at {@link #baseNanos}, which is a second boundary of guest time. */
    private long baseSeconds;
    private long baseNanos;
    private long lastSecondSeen;
    private long lastPeriodSeen;
    private boolean irqLineHigh;

    private final Runnable timerChanged;

    public Mc146818Rtc(TimeSource clock, IrqLine irq, long epochMillisNow) {
        this(clock, irq, epochMillisNow, () -> { });
    }

    public Mc146818Rtc(TimeSource clock, IrqLine irq, long epochMillisNow, Runnable timerChanged) {
        this.clock = clock;
        this.irq = irq;
        this.timerChanged = timerChanged;
        long now = clock.nanoTime();
        baseSeconds = Math.floorDiv(epochMillisNow, 1000);
        baseNanos = now - Math.floorMod(epochMillisNow, 1000) * 1_000_000L;
        cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
        cmos[REG_B] = B_24H;
        cmos[REG_D] = (byte) 0x80; // valid RAM and time
        cmos[0x14] = 0x02; // equipment: maths coprocessor present, no floppies, VGA
        cmos[CENTURY] = 0x20;
        lastSecondSeen = secondIndex(now);
        lastPeriodSeen = periodIndex(now);
        updateChecksum();
    }

    /** Every guest-visible bit, the guest's time as seconds plus time elapsed on the domain's clock. */
    public synchronized RtcState saveState() {
        long since = clock.nanoTime() - baseNanos;
        if (since < 0 || since > RtcState.MAX_SINCE_BASE_NANOS) {
            // Only a clock that went backwards (or 146 years up): move the base, the guest's time stays.
            long now = clock.nanoTime();
            long second = secondIndex(now);
            return new RtcState(cmos, index, baseSeconds + second, Math.floorMod(now - baseNanos, NS_PER_S), 0, 0, irqLineHigh);
        }
        return new RtcState(cmos, index, baseSeconds, since, lastSecondSeen, lastPeriodSeen, irqLineHigh);
    }

    /**
     * Puts the RTC in {@code s}, its time going on from where it stood, drives IRQ8 to the saved
     * level and tells the platform its timer changed (periodic/update interrupts are re-armed).
     */
    public void restoreState(RtcState s) {
        boolean line;
        synchronized (this) {
            System.arraycopy(s.cmos(), 0, cmos, 0, cmos.length);
            index = s.index();
            baseSeconds = s.baseSeconds();
            baseNanos = clock.nanoTime() - s.sinceBaseNanos();
            lastSecondSeen = s.lastSecondSeen();
            lastPeriodSeen = s.lastPeriodSeen();
            irqLineHigh = s.irqLineHigh();
            line = irqLineHigh;
        }
        irq.set(IRQ, line);
        timerChanged.run();
    }

    /** Fills the PC/AT memory-size bytes: {@code ramBelow4G} and {@code ramAbove4G} in bytes. */
    public synchronized void setMemorySize(long ramBelow4G, long ramAbove4G) {
        setWord(0x15, 640);
        long extKb = Math.max(0, Math.min((ramBelow4G >> 10) - 1024, 0xffff));
        setWord(0x17, (int) extKb);
        setWord(0x30, (int) extKb);
        long above16M = Math.max(0, Math.min((ramBelow4G - (16L << 20)) >> 16, 0xffff));
        setWord(0x34, (int) above16M);
        long high = Math.min(ramAbove4G >> 16, 0xffffff);
        cmos[0x5b] = (byte) high;
        cmos[0x5c] = (byte) (high >> 8);
        cmos[0x5d] = (byte) (high >> 16);
        updateChecksum();
    }

    private void setWord(int reg, int value) {
        cmos[reg] = (byte) value;
        cmos[reg + 1] = (byte) (value >> 8);
    }

    private void updateChecksum() {
        int sum = 0;
        for (int i = 0x10; i <= 0x2d; i++) {
            sum += cmos[i] & 0xff;
        }
        cmos[0x2e] = (byte) (sum >> 8);
        cmos[0x2f] = (byte) sum;
    }

    private boolean dividerRunning() {
        return (cmos[REG_A] & 0x70) == 0x20;
    }

    private boolean halted() {
        return (cmos[REG_B] & B_SET) != 0 || !dividerRunning();
    }

    private long secondIndex(long now) {
        return Math.floorDiv(now - baseNanos, NS_PER_S);
    }

    /** Periodic interrupt period in ns for rate-select {@code rs}, or 0 if off. */
    static long periodNanos(int rs) {
        return switch (rs) {
            case 0 -> 0;
            case 1 -> 3_906_250;
            case 2 -> 7_812_500;
            default -> NS_PER_S * (1L << (rs - 1)) / 32768;
        };
    }

    private long periodIndex(long now) {
        long p = periodNanos(cmos[REG_A] & 0x0f);
        return p == 0 ? 0 : Math.floorDiv(now - baseNanos, p);
    }

    /** Brings flags up to {@code now}; raises IRQ8 when an enabled flag newly sets. */
    private void advance(long now) {
        int flags = cmos[REG_C] & 0x70;
        if (dividerRunning()) {
            long period = periodIndex(now);
            if (period != lastPeriodSeen && periodNanos(cmos[REG_A] & 0x0f) != 0) {
                flags |= C_PF;
            }
            lastPeriodSeen = period;
        }
        long second = secondIndex(now);
        if (second != lastSecondSeen && !halted()) {
            flags |= C_UF;
            if (alarmMatches(baseSeconds + second)) {
                flags |= C_AF;
            }
        }
        lastSecondSeen = second;
        int enabled = cmos[REG_B] & (B_PIE | B_AIE | B_UIE);
        if ((flags & enabled) != 0) {
            flags |= C_IRQF;
        }
        cmos[REG_C] = (byte) flags;
    }

    private boolean alarmMatches(long epochSeconds) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(epochSeconds, 0, ZoneOffset.UTC);
        return alarmField(SECONDS_ALARM, t.getSecond()) && alarmField(MINUTES_ALARM, t.getMinute())
                && alarmField(HOURS_ALARM, t.getHour());
    }

    private boolean alarmField(int reg, int value) {
        int a = cmos[reg] & 0xff;
        if ((a & 0xc0) == 0xc0) {
            return true; // "don't care"
        }
        if (reg == HOURS_ALARM) {
            return fromHour(a) == value;
        }
        return fromBcd(a) == value;
    }

    /** Raises interrupts that are due; returns the next instant one can be due, or Long.MAX_VALUE. */
    public long service(long now) {
        boolean raise;
        long next = Long.MAX_VALUE;
        synchronized (this) {
            advance(now);
            raise = (cmos[REG_C] & C_IRQF) != 0 && !irqLineHigh;
            if (raise) {
                irqLineHigh = true;
            }
            int b = cmos[REG_B];
            long period = periodNanos(cmos[REG_A] & 0x0f);
            if ((b & B_PIE) != 0 && period != 0 && dividerRunning()) {
                next = baseNanos + (periodIndex(now) + 1) * period;
            }
            if ((b & (B_UIE | B_AIE)) != 0 && !halted()) {
                next = Math.min(next, baseNanos + (secondIndex(now) + 1) * NS_PER_S);
            }
        }
        if (raise) {
            irq.set(IRQ, true);
        }
        return next;
    }

    // ---- time registers ----

    private int toBcd(int v) {
        return (cmos[REG_B] & B_DM_BINARY) != 0 ? v : (v / 10) << 4 | v % 10;
    }

    private int fromBcd(int v) {
        return (cmos[REG_B] & B_DM_BINARY) != 0 ? v : (v >> 4) * 10 + (v & 0x0f);
    }

    private int toHour(int h) {
        if ((cmos[REG_B] & B_24H) != 0) {
            return toBcd(h);
        }
        int h12 = h % 12 == 0 ? 12 : h % 12;
        return toBcd(h12) | (h >= 12 ? 0x80 : 0);
    }

    private int fromHour(int v) {
        if ((cmos[REG_B] & B_24H) != 0) {
            return fromBcd(v);
        }
        int h = fromBcd(v & 0x7f) % 12;
        return (v & 0x80) != 0 ? h + 12 : h;
    }

    /** Writes the current guest time into registers 0-9 and the century byte. */
    private void refreshTime(long now) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(baseSeconds + secondIndex(now), 0, ZoneOffset.UTC);
        cmos[SECONDS] = (byte) toBcd(t.getSecond());
        cmos[MINUTES] = (byte) toBcd(t.getMinute());
        cmos[HOURS] = (byte) toHour(t.getHour());
        cmos[DAY_OF_WEEK] = (byte) toBcd(t.getDayOfWeek().getValue() % 7 + 1); // Sunday = 1
        cmos[DAY_OF_MONTH] = (byte) toBcd(t.getDayOfMonth());
        cmos[MONTH] = (byte) toBcd(t.getMonthValue());
        cmos[YEAR] = (byte) toBcd(t.getYear() % 100);
        cmos[CENTURY] = (byte) toBcd(t.getYear() / 100);
    }

    /** Takes registers 0-9 as the new guest time; nonsense (month 13 ...) leaves the clock as it was. */
    private void adoptTime(long now, long nanosIntoSecond) {
        try {
            int year = fromBcd(cmos[CENTURY] & 0xff) * 100 + fromBcd(cmos[YEAR] & 0xff);
            LocalDateTime t = LocalDateTime.of(year, fromBcd(cmos[MONTH] & 0xff), fromBcd(cmos[DAY_OF_MONTH] & 0xff),
                    fromHour(cmos[HOURS] & 0xff), fromBcd(cmos[MINUTES] & 0xff), fromBcd(cmos[SECONDS] & 0xff));
            baseSeconds = t.toEpochSecond(ZoneOffset.UTC);
            baseNanos = now - nanosIntoSecond;
            lastSecondSeen = 0;
            lastPeriodSeen = periodIndex(now);
        } catch (DateTimeException e) {
            // keep the previous time: a guest writing garbage must not stop the clock
        }
    }

    synchronized int readRegister(int reg) {
        long now = clock.nanoTime();
        advance(now);
        switch (reg) {
            case REG_A: {
                boolean uip = !halted() && Math.floorMod(now - baseNanos, NS_PER_S) >= NS_PER_S - UIP_WINDOW_NS;
                return cmos[REG_A] & 0x7f | (uip ? A_UIP : 0);
            }
            case REG_C: {
                int value = cmos[REG_C] & 0xff;
                cmos[REG_C] = 0;
                if (irqLineHigh) {
                    irqLineHigh = false;
                    irq.set(IRQ, false);
                }
                return value;
            }
            case SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DAY_OF_MONTH, MONTH, YEAR, CENTURY:
                if (!halted()) {
                    refreshTime(now);
                }
                return cmos[reg] & 0xff;
            default:
                return cmos[reg] & 0xff;
        }
    }

    synchronized void writeRegister(int reg, int value) {
        long now = clock.nanoTime();
        advance(now);
        switch (reg) {
            case REG_A -> {
                boolean wasRunning = dividerRunning();
                cmos[REG_A] = (byte) (value & 0x7f);
                if (!wasRunning && dividerRunning()) {
                    // Divider released: time keeps its value, the first update follows half a second later.
                    baseSeconds += secondIndex(now);
                    baseNanos = now - NS_PER_S / 2;
                    lastSecondSeen = 0;
                }
                lastPeriodSeen = periodIndex(now);
            }
            case REG_B -> {
                int old = cmos[REG_B];
                if ((value & B_SET) != 0 && (old & B_SET) == 0) {
                    refreshTime(now); // freeze the registers at the current time
                }
                cmos[REG_B] = (byte) value;
                if ((value & B_SET) != 0) {
                    cmos[REG_B] &= ~B_UIE; // SET clears UIE, as on the part
                }
                if ((old & B_SET) != 0 && (value & B_SET) == 0) {
                    adoptTime(now, NS_PER_S / 2);
                }
                if ((value & B_PIE) != 0 && (old & B_PIE) == 0) {
                    lastPeriodSeen = periodIndex(now);
                }
            }
            case REG_C, REG_D -> { } // read-only
            case SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DAY_OF_MONTH, MONTH, YEAR, CENTURY -> {
                if (!halted()) {
                    refreshTime(now);
                    cmos[reg] = (byte) value;
                    adoptTime(now, Math.floorMod(now - baseNanos, NS_PER_S));
                } else {
                    cmos[reg] = (byte) value;
                }
            }
            default -> cmos[reg] = (byte) value;
        }
    }

    public IoHandler ports() {
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                if ((offset & 1) == 0) {
                    synchronized (Mc146818Rtc.this) {
                        return index;
                    }
                }
                return readRegister(currentIndex());
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                if ((offset & 1) == 0) {
                    synchronized (Mc146818Rtc.this) {
                        index = value & 0x7f; // bit 7 masks NMI, which we do not generate
                    }
                } else {
                    writeRegister(currentIndex(), value & 0xff);
                    timerChanged.run();
                }
            }
        };
    }

    private synchronized int currentIndex() {
        return index;
    }
}
