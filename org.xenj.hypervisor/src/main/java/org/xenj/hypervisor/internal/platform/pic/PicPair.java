package org.xenj.hypervisor.internal.platform.pic;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * The PC's cascaded 8259A pair (master at 0x20, slave at 0xA0 on master IR2) and the PIIX edge/level
 * control registers (0x4D0/0x4D1). Every entry point takes the interrupt fabric's lock, so that
 * devices may raise lines from any thread; {@code outputChanged} runs under that lock whenever the
 * master's INT output may have changed.
 */
public final class PicPair {

    public static final int MASTER_BASE = 0x20;
    public static final int SLAVE_BASE = 0xa0;
    public static final int ELCR_BASE = 0x4d0;
    static final int CASCADE = 2;
    /** IRQ0-2 are always edge on the master; IRQ8 (RTC) and IRQ13 (FPU) on the slave. */
    static final int MASTER_ELCR_MASK = 0xf8, SLAVE_ELCR_MASK = 0xde;

    private final Object lock;
    private final Runnable outputChanged;
    private final Pic8259 master = new Pic8259(MASTER_ELCR_MASK, CASCADE, 0x08);
    private final Pic8259 slave = new Pic8259(SLAVE_ELCR_MASK, -1, 0x70);

    public PicPair(Object lock, Runnable outputChanged) {
        this.lock = lock;
        this.outputChanged = outputChanged;
    }

    public void reset() {
        synchronized (lock) {
            master.powerOn(0x08);
            slave.powerOn(0x70);
            update();
        }
    }

    /** Both chips' every guest-visible bit. */
    public PicState saveState() {
        synchronized (lock) {
            return new PicState(master.save(), slave.save());
        }
    }

    /** Puts both chips in {@code s} and re-evaluates the INT output (the fabric recomputes vCPU interrupts). */
    public void restoreState(PicState s) {
        synchronized (lock) {
            master.restore(s.master());
            slave.restore(s.slave());
            update();
        }
    }

    /** A stand-alone slave chip holding {@code s}, for {@link PicState} to check the cascade against. */
    static Pic8259 slaveChip(PicState.Chip s) {
        Pic8259 chip = new Pic8259(SLAVE_ELCR_MASK, -1, 0x70);
        chip.restore(s);
        return chip;
    }

    /** Drives ISA IRQ {@code irq} (0..15). */
    public void setIrq(int irq, boolean level) {
        synchronized (lock) {
            (irq < 8 ? master : slave).setInput(irq & 7, level);
            update();
        }
    }

    /** Both chips' request, in-service and mask registers (xl debug-keys). */
    public String debugState() {
        synchronized (lock) {
            return String.format("PIC master irr=%02x isr=%02x imr=%02x, slave irr=%02x isr=%02x imr=%02x", master.irr, master.isr,
                    master.imr, slave.irr, slave.isr, slave.imr);
        }
    }

    /** Whether the master's INT output is high (an interrupt waits for INTA). */
    public boolean outputPending() {
        synchronized (lock) {
            return master.pendingInput() >= 0;
        }
    }

    /** The INTA cycle: the vector of the acknowledged IRQ (spurious IRQ7/15 if it went away). */
    public int acknowledge() {
        synchronized (lock) {
            int pin = master.acknowledge();
            int vector;
            if (pin == CASCADE) {
                vector = slave.vectorBase + slave.acknowledge();
            } else {
                vector = master.vectorBase + pin;
            }
            update();
            return vector;
        }
    }

    /**
     * The slave's INT output drives master IR2. It is tracked as a level: a slave request that
     * vanishes before INTA withdraws the master's request too, so a cascade INTA always finds the
     * slave's request (no spurious IRQ15 from our own modelling).
     */
    private void update() {
        if (slave.pendingInput() >= 0) {
            master.irr |= 1 << CASCADE;
        } else {
            master.irr &= ~(1 << CASCADE);
        }
        outputChanged.run();
    }

    private int pollRead(Pic8259 chip, boolean isMaster) {
        chip.pollPending = false;
        int pin = chip.pendingInput();
        if (pin < 0) {
            return 0;
        }
        chip.acknowledge();
        if (isMaster && pin == CASCADE) {
            // The poll reaches through the cascade as an INTA would.
            slave.acknowledge();
        }
        update();
        return 0x80 | pin;
    }

    /** Handler for 0x20-0x21 ({@code isMaster}) or 0xA0-0xA1. */
    public IoHandler ports(boolean isMaster) {
        Pic8259 chip = isMaster ? master : slave;
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                synchronized (lock) {
                    if ((offset & 1) != 0) {
                        return chip.imr;
                    }
                    return chip.pollPending ? pollRead(chip, isMaster) : chip.readStatus();
                }
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                synchronized (lock) {
                    if ((offset & 1) != 0) {
                        chip.writeData(value & 0xff);
                    } else {
                        chip.writeCommand(value & 0xff);
                    }
                    update();
                }
            }
        };
    }

    /** Handler for the ELCR pair at 0x4D0 (master) and 0x4D1 (slave). */
    public IoHandler elcrPorts() {
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                synchronized (lock) {
                    int value = master.elcr | slave.elcr << 8;
                    return size == 1 ? (offset == 0 ? master.elcr : slave.elcr) : value;
                }
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                synchronized (lock) {
                    if (offset == 0) {
                        master.elcr = value & master.elcrMask;
                        if (size > 1) {
                            slave.elcr = (value >>> 8) & slave.elcrMask;
                        }
                    } else {
                        slave.elcr = value & slave.elcrMask;
                    }
                    update();
                }
            }
        };
    }

    /** For tests and diagnostics: IRR, ISR, IMR of both chips as {master, slave}. */
    public int[] snapshot() {
        synchronized (lock) {
            return new int[] {master.irr, master.isr, master.imr, slave.irr, slave.isr, slave.imr};
        }
    }
}
