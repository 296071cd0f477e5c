package org.xenj.hypervisor.internal.cpu.probe;

import java.io.PrintStream;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;

/**
 * A deliberately small PC for probing the CPU with a real kernel before the production platform
 * is merged: master 8259 PIC, 8254 PIT (channels 0 and 2, port 0x61), a write-only 16550 on
 * COM1, and a CMOS that reports a valid, idle RTC. Not the hypervisor's platform; test use only.
 */
final class MiniPc implements CpuEnvironment {

    private static final long PIT_HZ = 1_193_182;

    private final PrintStream out;
    final StringBuilder console = new StringBuilder();

    // PIC (master only)
    private int irr, isr, imr = 0xff, vectorBase = 8, icwStep;
    private boolean readIsr;

    // PIT
    private final int[] reload = new int[3];
    private final int[] mode = new int[3];
    private final long[] loadTime = new long[3];
    private final int[] access = new int[3];
    private final boolean[] lowNext = new boolean[3];
    private final int[] latch = new int[3];
    private final boolean[] latched = new boolean[3];
    private final boolean[] latchLowNext = new boolean[3];
    private final int[] writeLow = new int[3];
    private boolean gate2;
    private int port61;
    private long ch0Deadline = Long.MAX_VALUE;

    // UART
    private int lcr, ier, scratch;
    private boolean thrInterrupt;
    private final java.util.ArrayDeque<Integer> rx = new java.util.ArrayDeque<>();
    private int cmosIndex;

    MiniPc(PrintStream out) {
        this.out = out;
    }

    @Override
    public synchronized int ioRead(int port, int size) {
        switch (port) {
            case 0x20: return readIsr ? isr : irr;
            case 0x21: return imr;
            case 0x40: case 0x41: case 0x42: return readCounter(port - 0x40);
            case 0x61: return (port61 & 0x0f) | (out2(System.nanoTime()) ? 0x20 : 0);
            case 0x70: return cmosIndex;
            case 0x71: return cmos(cmosIndex);
            case 0x3f8: {
                if ((lcr & 0x80) != 0) {
                    return 0;
                }
                Integer c = rx.poll();
                uartIrq();
                return c == null ? 0 : c;
            }
            case 0x3f9: return (lcr & 0x80) != 0 ? 0 : ier;
            case 0x3fa: {
                if ((ier & 1) != 0 && !rx.isEmpty()) {
                    return 0xc4;
                }
                if ((ier & 2) != 0 && thrInterrupt) {
                    thrInterrupt = false;
                    return 0xc2;
                }
                return 0xc1;
            }
            case 0x3fb: return lcr;
            case 0x3fc: return 0;
            case 0x3fd: return 0x60 | (rx.isEmpty() ? 0 : 1);
            case 0x3fe: return 0xb0;
            case 0x3ff: return scratch;
            default: return size == 4 ? -1 : (1 << (size * 8)) - 1;
        }
    }

    private static int cmos(int index) {
        switch (index & 0x7f) {
            case 0x0a: return 0x26;
            case 0x0b: return 0x02;
            case 0x0d: return 0x80;
            case 0x07: return 0x01; // day of month
            case 0x08: return 0x01; // month
            case 0x09: return 0x24; // year
            default: return 0;
        }
    }

    @Override
    public synchronized void ioWrite(int port, int size, int value) {
        value &= 0xff;
        switch (port) {
            case 0x20 -> {
                if ((value & 0x10) != 0) {
                    icwStep = 1;
                    imr = 0;
                    isr = 0;
                    irr = 0;
                } else if ((value & 0x18) == 0x08) {
                    readIsr = (value & 3) == 3;
                } else if ((value & 0xe0) == 0x20) {
                    isr &= isr - 1; // non-specific EOI: clear the highest-priority (lowest) bit
                } else if ((value & 0xe0) == 0x60) {
                    isr &= ~(1 << (value & 7));
                }
            }
            case 0x21 -> {
                if (icwStep == 1) {
                    vectorBase = value & 0xf8;
                    icwStep = 2;
                } else if (icwStep == 2) {
                    icwStep = 3;
                } else if (icwStep == 3) {
                    icwStep = 0;
                } else {
                    imr = value;
                }
            }
            case 0x43 -> pitControl(value);
            case 0x40, 0x41, 0x42 -> pitWrite(port - 0x40, value);
            case 0x61 -> {
                boolean g = (value & 1) != 0;
                if (g && !gate2) {
                    loadTime[2] = System.nanoTime();
                }
                gate2 = g;
                port61 = value;
            }
            case 0x70 -> cmosIndex = value;
            case 0x3f8 -> {
                if ((lcr & 0x80) == 0) {
                    console.append((char) value);
                    out.print((char) value);
                    out.flush();
                    thrInterrupt = true; // transmitted at once: the holding register is empty again
                    uartIrq();
                }
            }
            case 0x3f9 -> {
                if ((lcr & 0x80) == 0) {
                    if ((value & 2) != 0 && (ier & 2) == 0) {
                        thrInterrupt = true;
                    }
                    ier = value & 0x0f;
                    uartIrq();
                }
            }
            case 0x3fb -> lcr = value;
            case 0x3ff -> scratch = value;
            default -> { }
        }
    }

    /** COM1 raises IRQ 4 while it has a reason the guest enabled. */
    private void uartIrq() {
        if (((ier & 1) != 0 && !rx.isEmpty()) || ((ier & 2) != 0 && thrInterrupt)) {
            irr |= 1 << 4;
        }
    }

    /** Queues console input (as if typed on COM1). */
    synchronized void type(String text) {
        for (char c : text.toCharArray()) {
            rx.add((int) c);
        }
        uartIrq();
    }

    private void pitControl(int v) {
        int ch = v >>> 6;
        if (ch == 3) {
            return; // read-back: not needed by Linux here
        }
        int acc = (v >>> 4) & 3;
        if (acc == 0) {
            latch[ch] = counter(ch, System.nanoTime());
            latched[ch] = true;
            latchLowNext[ch] = true;
            return;
        }
        access[ch] = acc;
        mode[ch] = (v >>> 1) & 7;
        lowNext[ch] = true;
        if (ch == 0) {
            ch0Deadline = Long.MAX_VALUE;
        }
    }

    private void pitWrite(int ch, int v) {
        int acc = access[ch];
        if (acc == 3 && lowNext[ch]) {
            writeLow[ch] = v;
            lowNext[ch] = false;
            return;
        }
        int value = acc == 1 ? v : acc == 2 ? v << 8 : writeLow[ch] | (v << 8);
        lowNext[ch] = true;
        reload[ch] = value == 0 ? 0x10000 : value;
        loadTime[ch] = System.nanoTime();
        if (ch == 0) {
            ch0Deadline = loadTime[0] + ticksToNanos(reload[0]);
        }
    }

    private static long ticksToNanos(long ticks) {
        return ticks * 1_000_000_000L / PIT_HZ;
    }

    private int counter(int ch, long now) {
        long ticks = (now - loadTime[ch]) * PIT_HZ / 1_000_000_000L;
        int r = reload[ch];
        if (r == 0) {
            return 0;
        }
        if (mode[ch] == 0 || mode[ch] == 1) {
            return (int) ((r - ticks) & 0xffff);
        }
        return (int) (r - (ticks % r));
    }

    private boolean out2(long now) {
        if (!gate2 || reload[2] == 0) {
            return false;
        }
        long ticks = (now - loadTime[2]) * PIT_HZ / 1_000_000_000L;
        return mode[2] == 0 ? ticks >= reload[2] : (ticks % reload[2]) < reload[2] / 2;
    }

    private int readCounter(int ch) {
        int v;
        if (latched[ch]) {
            v = latch[ch];
            if (access[ch] == 3 && latchLowNext[ch]) {
                latchLowNext[ch] = false;
                return v & 0xff;
            }
            latched[ch] = false;
            return access[ch] == 3 || access[ch] == 2 ? (v >>> 8) & 0xff : v & 0xff;
        }
        v = counter(ch, System.nanoTime());
        if (access[ch] == 2) {
            return (v >>> 8) & 0xff;
        }
        if (access[ch] == 3) {
            boolean low = lowNext[ch];
            lowNext[ch] = !low;
            return low ? v & 0xff : (v >>> 8) & 0xff;
        }
        return v & 0xff;
    }

    private int deliverable() {
        int pending = irr & ~imr;
        if (pending == 0) {
            return -1;
        }
        int irq = Integer.numberOfTrailingZeros(pending);
        if (isr != 0 && Integer.numberOfTrailingZeros(isr) <= irq) {
            return -1;
        }
        return irq;
    }

    @Override
    public long mmioRead(long gpa, int size) {
        return -1L;
    }

    @Override
    public void mmioWrite(long gpa, int size, long value) {
    }

    @Override
    public synchronized boolean interruptPending() {
        return deliverable() >= 0;
    }

    @Override
    public synchronized int acknowledgeInterrupt() {
        int irq = deliverable();
        if (irq < 0) {
            return -1;
        }
        irr &= ~(1 << irq);
        isr |= 1 << irq;
        return vectorBase + irq;
    }

    @Override
    public synchronized long serviceTimers(long now) {
        if (now >= ch0Deadline) {
            irr |= 1;
            if (mode[0] == 2 || mode[0] == 3) {
                long period = ticksToNanos(reload[0]);
                long next = ch0Deadline + period;
                ch0Deadline = next <= now ? now + period : next;
            } else {
                ch0Deadline = Long.MAX_VALUE;
            }
        }
        return ch0Deadline;
    }
}
