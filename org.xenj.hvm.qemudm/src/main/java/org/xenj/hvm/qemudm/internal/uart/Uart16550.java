package org.xenj.hvm.qemudm.internal.uart;

import java.util.function.IntConsumer;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * A 16550A UART (8 registers, DLAB, 16-byte FIFOs) as the Linux 8250 driver probes and drives it.
 * Transmission is instantaneous: a byte written to THR goes straight to {@code output} and THR is
 * empty again, which raises the THRE interrupt. Received bytes wait in a backlog (the console may
 * paste a whole line at once) and enter the 16-byte RX FIFO as the guest drains it, so nothing
 * typed is lost to overruns. The interrupt output is gated by MCR.OUT2, as PC boards wire it.
 */
public final class Uart16550 implements IoHandler {

    public interface Output {
        void write(byte[] data, int off, int len);
    }

    static final int IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08;
    static final int IIR_NO_INT = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_TIMEOUT = 0x0c;
    static final int IIR_FIFO_ENABLED = 0xc0;
    static final int LCR_DLAB = 0x80;
    static final int MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
    static final int LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40;
    static final int MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;
    static final int FIFO_SIZE = 16;
    /** Typed input kept beyond the FIFO; more than this is dropped (and reported as overrun). */
    static final int BACKLOG = 64 * 1024;
    private static final int[] TRIGGER = {1, 4, 8, 14};

    private final Output output;
    private final IntConsumer irq;
    private final byte[] one = new byte[1];

    private int ier;
    private int lcr;
    private int mcr;
    private int lsrErrors;
    private int msr;
    private int scr;
    private int dll = 0x0c; // 9600 baud at reset, as firmware would leave it
    private int dlm;
    private boolean fifoEnabled;
    private int triggerLevel = 1;
    private boolean thrInterrupt;
    private boolean irqHigh;

    private final byte[] rxFifo = new byte[FIFO_SIZE];
    private int rxHead;
    private int rxCount;
    private final byte[] backlog = new byte[BACKLOG];
    private int backlogHead;
    private int backlogCount;

    public Uart16550(Output output, IntConsumer irq) {
        this.output = output;
        this.irq = irq;
        reset();
    }

    /** irq receives 1 (raise) or 0 (lower). */
    public synchronized void reset() {
        ier = 0;
        lcr = 0;
        mcr = 0;
        lsrErrors = 0;
        msr = MSR_DCD | MSR_DSR | MSR_CTS; // a terminal is connected
        scr = 0;
        fifoEnabled = false;
        triggerLevel = 1;
        thrInterrupt = false;
        rxCount = 0;
        rxHead = 0;
        updateIrq();
    }

    /** Every guest-visible bit, between accesses (see {@link UartState}). */
    public synchronized UartState saveState() {
        byte[] rx = new byte[rxCount];
        for (int i = 0; i < rxCount; i++) {
            rx[i] = rxFifo[(rxHead + i) % FIFO_SIZE];
        }
        byte[] typed = new byte[backlogCount];
        for (int i = 0; i < backlogCount; i++) {
            typed[i] = backlog[(backlogHead + i) % BACKLOG];
        }
        return new UartState(ier, lcr, mcr, lsrErrors, msr, scr, dll, dlm, fifoEnabled, triggerLevel, thrInterrupt, rx, typed);
    }

    /** Puts the UART in {@code s} and drives its interrupt line to match (low as well as high). */
    public synchronized void restoreState(UartState s) {
        ier = s.ier() & 0x0f;
        lcr = s.lcr() & 0xff;
        mcr = s.mcr() & 0x1f;
        lsrErrors = s.lsrErrors() & 0xff;
        msr = s.msr() & 0xff;
        scr = s.scr() & 0xff;
        dll = s.dll() & 0xff;
        dlm = s.dlm() & 0xff;
        fifoEnabled = s.fifoEnabled();
        triggerLevel = s.triggerLevel();
        thrInterrupt = s.thrInterrupt();
        byte[] rx = s.rx();
        System.arraycopy(rx, 0, rxFifo, 0, rx.length);
        rxHead = 0;
        rxCount = rx.length;
        byte[] typed = s.backlog();
        System.arraycopy(typed, 0, backlog, 0, typed.length);
        backlogHead = 0;
        backlogCount = typed.length;
        // Driven both ways, not only raised: the controllers may hold the line at another level
        // (their record is another instant's, see HvmPlatformImpl.restoreState(s, attachDevices)),
        // and a line they think high gives the guest no edge for the next byte.
        irqHigh = pendingInterrupt() != IIR_NO_INT && (mcr & MCR_OUT2) != 0;
        irq.accept(irqHigh ? 1 : 0);
    }

    /** Registers, pending interrupt, FIFO and backlog fill and the line's level, for a failed test's report. */
    public synchronized String debugState() {
        return String.format("16550 IER=%02x IIR(pending)=%02x LCR=%02x MCR=%02x LSR=%02x MSR=%02x FCR fifo=%s trigger=%d THRE latch=%s"
                + " rx=%d backlog=%d line=%s", ier, pendingInterrupt(), lcr, mcr, lsr(), msr, fifoEnabled, triggerLevel, thrInterrupt,
                rxCount, backlogCount, irqHigh ? "high" : "low");
    }

    /** Console input (any thread). */
    public synchronized void receive(byte[] data) {
        for (byte b : data) {
            if (backlogCount == BACKLOG) {
                lsrErrors |= LSR_OE;
                break;
            }
            backlog[(backlogHead + backlogCount++) % BACKLOG] = b;
        }
        refill();
        updateIrq();
    }

    private void refill() {
        int capacity = fifoEnabled ? FIFO_SIZE : 1;
        while (backlogCount > 0 && rxCount < capacity) {
            pushRx(backlog[backlogHead]);
            backlogHead = (backlogHead + 1) % BACKLOG;
            backlogCount--;
        }
    }

    private void pushRx(byte b) {
        rxFifo[(rxHead + rxCount) % FIFO_SIZE] = b;
        rxCount++;
    }

    private int lsr() {
        return (rxCount > 0 ? LSR_DR : 0) | lsrErrors | LSR_THRE | LSR_TEMT;
    }

    /** The interrupt the IIR reports, by 16550 priority. */
    private int pendingInterrupt() {
        if ((ier & IER_RLSI) != 0 && (lsrErrors & (LSR_OE | 0x0e | LSR_BI)) != 0) {
            return IIR_RLSI;
        }
        if ((ier & IER_RDI) != 0 && rxCount > 0) {
            // Below the trigger level the FIFO reports a character timeout (we do not wait 4 char times).
            return !fifoEnabled || rxCount >= triggerLevel ? IIR_RDI : IIR_TIMEOUT;
        }
        if ((ier & IER_THRI) != 0 && thrInterrupt) {
            return IIR_THRI;
        }
        if ((ier & IER_MSI) != 0 && (msr & 0x0f) != 0) {
            return IIR_MSI;
        }
        return IIR_NO_INT;
    }

    private void updateIrq() {
        boolean level = pendingInterrupt() != IIR_NO_INT && (mcr & MCR_OUT2) != 0;
        if (level != irqHigh) {
            irqHigh = level;
            irq.accept(level ? 1 : 0);
        }
    }

    @Override
    public synchronized int ioRead(int offset, int size) {
        int value = switch (offset & 7) {
            case 0 -> (lcr & LCR_DLAB) != 0 ? dll : readRbr();
            case 1 -> (lcr & LCR_DLAB) != 0 ? dlm : ier;
            case 2 -> readIir();
            case 3 -> lcr;
            case 4 -> mcr;
            case 5 -> {
                int v = lsr();
                lsrErrors = 0;
                yield v;
            }
            case 6 -> readMsr();
            default -> scr;
        };
        updateIrq();
        return value;
    }

    private int readRbr() {
        if (rxCount == 0) {
            return 0;
        }
        int b = rxFifo[rxHead] & 0xff;
        rxHead = (rxHead + 1) % FIFO_SIZE;
        rxCount--;
        refill();
        return b;
    }

    private int readIir() {
        int id = pendingInterrupt();
        if (id == IIR_THRI) {
            thrInterrupt = false; // reading IIR with THRE as the source acknowledges it
        }
        return id | (fifoEnabled ? IIR_FIFO_ENABLED : 0);
    }

    private int readMsr() {
        int lines;
        if ((mcr & MCR_LOOP) != 0) {
            lines = ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0) | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                    | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0) | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
        } else {
            lines = MSR_DCD | MSR_DSR | MSR_CTS;
        }
        int value = lines | (msr & 0x0f);
        msr = lines; // reading clears the delta bits
        return value;
    }

    @Override
    public synchronized void ioWrite(int offset, int size, int value) {
        value &= 0xff;
        switch (offset & 7) {
            case 0 -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dll = value;
                } else {
                    transmit(value);
                }
            }
            case 1 -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dlm = value;
                } else {
                    int old = ier;
                    ier = value & 0x0f;
                    if ((ier & IER_THRI) != 0 && (old & IER_THRI) == 0) {
                        thrInterrupt = true; // enabling THRE with an empty THR interrupts at once
                    }
                }
            }
            case 2 -> writeFcr(value);
            case 3 -> lcr = value;
            case 4 -> writeMcr(value & 0x1f);
            case 5 -> { } // LSR is read-only (factory test writes are ignored)
            case 6 -> { }
            default -> scr = value;
        }
        updateIrq();
    }

    private void transmit(int value) {
        thrInterrupt = false;
        if ((mcr & MCR_LOOP) != 0) {
            int capacity = fifoEnabled ? FIFO_SIZE : 1;
            if (rxCount < capacity) {
                pushRx((byte) value);
            } else {
                lsrErrors |= LSR_OE;
            }
        } else {
            one[0] = (byte) value;
            output.write(one, 0, 1);
        }
        thrInterrupt = true; // the (instant) transmitter is empty again
    }

    private void writeFcr(int value) {
        boolean enable = (value & 0x01) != 0;
        if (enable != fifoEnabled) {
            rxCount = 0; // changing FIFO mode clears both FIFOs
            rxHead = 0;
        }
        fifoEnabled = enable;
        if ((value & 0x02) != 0) {
            rxCount = 0;
            rxHead = 0;
        }
        triggerLevel = TRIGGER[value >>> 6 & 3];
        if ((value & 0x04) != 0) {
            thrInterrupt = (ier & IER_THRI) != 0;
        }
        refill();
    }

    private void writeMcr(int value) {
        int old = mcr;
        mcr = value;
        if (((old ^ value) & MCR_LOOP) != 0 || (value & MCR_LOOP) != 0) {
            // Modem-status deltas seen through the loopback wiring.
            int before = loopLines(old);
            int after = loopLines(value);
            if ((value & MCR_LOOP) == 0) {
                after = MSR_DCD | MSR_DSR | MSR_CTS;
            }
            if ((old & MCR_LOOP) == 0) {
                before = MSR_DCD | MSR_DSR | MSR_CTS;
            }
            int changed = before ^ after;
            int delta = (changed & MSR_CTS) != 0 ? 0x01 : 0;
            delta |= (changed & MSR_DSR) != 0 ? 0x02 : 0;
            delta |= (before & MSR_RI) != 0 && (after & MSR_RI) == 0 ? 0x04 : 0;
            delta |= (changed & MSR_DCD) != 0 ? 0x08 : 0;
            msr = after | (msr & 0x0f) | delta;
        }
        if ((value & MCR_LOOP) == 0) {
            refill();
        }
    }

    private static int loopLines(int mcr) {
        return ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0) | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0) | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
    }
}
