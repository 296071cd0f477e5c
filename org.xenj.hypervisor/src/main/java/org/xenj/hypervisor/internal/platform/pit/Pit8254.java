package org.xenj.hypervisor.internal.platform.pit;

import org.xenj.hypervisor.internal.platform.IrqLine;
import org.xenj.hypervisor.internal.platform.TimeSource;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * The 8254 programmable interval timer (ports 0x40-0x43) and the speaker/gate port 0x61 through
 * which channel 2 is gated and its OUT read back (Linux calibrates the TSC that way). Channel 0
 * drives ISA IRQ0; its interrupts are raised by {@link #service} when due, missed periods coalesced.
 */
public final class Pit8254 {

    public static final int BASE = 0x40;
    public static final int PORT_B = 0x61;

    private final TimeSource clock;
    private final IrqLine irq;
    private final PitChannel[] channels = {new PitChannel(), new PitChannel(), new PitChannel()};
    /** Port 0x61 bits 0-3 as written (gate 2, speaker, parity/IOCHK enables). */
    private int portB;
    private static final boolean DEBUG = Boolean.getBoolean("xenj.debug.pit");
    private boolean lastOut2;
    private final Runnable timerChanged;

    public Pit8254(TimeSource clock, IrqLine irq, Runnable timerChanged) {
        this.clock = clock;
        this.irq = irq;
        this.timerChanged = timerChanged;
        reset();
    }

    public Pit8254(TimeSource clock, IrqLine irq) {
        this(clock, irq, () -> { });
    }

    public synchronized void reset() {
        for (int i = 0; i < 3; i++) {
            channels[i] = new PitChannel();
        }
        channels[2].gate = false;
        portB = 0;
    }

    /** Every guest-visible bit, with the counts as time elapsed on the domain's clock. */
    public synchronized PitState saveState() {
        long now = clock.nanoTime();
        return new PitState(channels[0].save(now), channels[1].save(now), channels[2].save(now), portB);
    }

    /**
     * Puts the PIT in {@code s}, the counts going on from where they stood when it was taken; tells
     * the platform its timer changed so the next IRQ0 deadline is re-armed.
     */
    public void restoreState(PitState s) {
        synchronized (this) {
            long now = clock.nanoTime();
            channels[0].restore(s.ch0(), now);
            channels[1].restore(s.ch1(), now);
            channels[2].restore(s.ch2(), now);
            portB = s.portB();
            lastOut2 = false;
        }
        timerChanged.run();
    }

    /** Raises IRQ0 if channel 0's OUT rose by {@code now}; returns the next deadline. */
    public long service(long now) {
        boolean fire;
        long next;
        synchronized (this) {
            PitChannel c0 = channels[0];
            long due = c0.nextIrq();
            fire = now >= due;
            if (fire) {
                c0.signalled(now);
            }
            next = c0.nextIrq();
        }
        if (fire) {
            irq.pulse(0);
        }
        return next;
    }

    /** Channel 0 as IRQ0 sees it (xl debug-keys). */
    public synchronized String debugState(long now) {
        PitChannel c = channels[0];
        long next = c.nextIrq();
        return String.format("PIT ch0 mode %d reload %d armed %s gate %s, next IRQ0 %s", c.mode, c.reload, c.armed, c.gate,
                next == Long.MAX_VALUE ? "none" : String.format("in %.3f ms", (next - now) / 1e6));
    }

    public IoHandler ports() {
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                synchronized (Pit8254.this) {
                    return offset == 3 ? 0xff : channels[offset].read(clock.nanoTime());
                }
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                synchronized (Pit8254.this) {
                    long now = clock.nanoTime();
                    if (offset < 3) {
                        channels[offset].write(value, now);
                    } else {
                        control(value & 0xff, now);
                    }
                    if (offset == 0 || offset == 3) {
                        timerChanged.run();
                    }
                }
            }
        };
    }

    private void control(int value, long now) {
        int select = value >>> 6;
        if (select == 3) { // read-back: bit 5 low latches counts, bit 4 low latches status
            for (int ch = 0; ch < 3; ch++) {
                if ((value & (2 << ch)) != 0) {
                    if ((value & 0x10) == 0) {
                        channels[ch].latchStatus(now);
                    }
                    if ((value & 0x20) == 0) {
                        channels[ch].latchCount(now);
                    }
                }
            }
            return;
        }
        int rw = value >>> 4 & 3;
        if (rw == 0) {
            channels[select].latchCount(now);
        } else {
            channels[select].control(rw, value >>> 1 & 7, (value & 1) != 0, now);
        }
    }

    public IoHandler portB() {
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                synchronized (Pit8254.this) {
                    long now = clock.nanoTime();
                    // Bit 4 toggles with DRAM refresh (every 15.085 us); bit 5 is channel 2's OUT.
                    int refresh = (int) (now / 15_085 & 1) << 4;
                    int out2 = channels[2].out(now) ? 0x20 : 0;
                    if (DEBUG && out2 != 0 && !lastOut2) {
                        PitChannel c = channels[2];
                        System.err.printf("[pit] ch2 OUT high after %.3f ms (reload %d mode %d gate %s)%n",
                                (now - c.loadTime) / 1e6, c.reload, c.mode, c.gate);
                    }
                    lastOut2 = out2 != 0;
                    return portB & 0x0f | refresh | out2;
                }
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                synchronized (Pit8254.this) {
                    portB = value & 0x0f;
                    channels[2].setGate((value & 1) != 0, clock.nanoTime());
                }
            }
        };
    }
}
