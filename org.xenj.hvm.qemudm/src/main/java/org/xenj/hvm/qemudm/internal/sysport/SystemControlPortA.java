package org.xenj.hvm.qemudm.internal.sysport;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * System control port A (0x92, "fast A20 and reset"): bit 0 set resets the machine, bit 1 is the
 * A20 gate. xenj does not wrap addresses at 1 MiB, so A20 is recorded and read back only.
 */
public final class SystemControlPortA implements IoHandler {

    public static final int PORT = 0x92;
    private final Runnable reset;
    private int value = 0x02;

    public SystemControlPortA(Runnable reset) {
        this.reset = reset;
    }

    public synchronized void resetState() {
        value = 0x02;
    }

    /** The A20 bit the guest left: this port's whole state. */
    public synchronized int saveState() {
        return value;
    }

    public synchronized void restoreState(int saved) {
        value = saved & 0x02;
    }

    @Override
    public synchronized int ioRead(int offset, int size) {
        return value;
    }

    @Override
    public void ioWrite(int offset, int size, int v) {
        boolean doReset;
        synchronized (this) {
            doReset = (v & 0x01) != 0 && (value & 0x01) == 0;
            value = v & 0x02;
        }
        if (doReset) {
            reset.run();
        }
    }
}
