package org.xenj.hypervisor.internal.platform;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * The PIIX reset control register at port 0xCF9: writing bit 2 (RST_CPU) with bit 1 (SYS_RST) or
 * alone resets the machine, as Linux's {@code reboot=pci} path does. Reads return bits 1-3 as written.
 */
final class ResetControl implements IoHandler {

    static final int PORT = 0xcf9;
    private final Runnable reset;
    private int value;

    ResetControl(Runnable reset) {
        this.reset = reset;
    }

    @Override
    public synchronized int ioRead(int offset, int size) {
        return value;
    }

    @Override
    public void ioWrite(int offset, int size, int v) {
        boolean doReset;
        synchronized (this) {
            doReset = (v & 0x04) != 0 && (value & 0x04) == 0;
            value = v & 0x0e;
        }
        if (doReset) {
            reset.run();
        }
    }
}
