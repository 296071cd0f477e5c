package org.xenj.hypervisor.internal.platform.apic;

import org.xenj.hypervisor.spi.MmioHandler;

/**
 * The I/O APIC (82093AA register model, version 0x11, 24 pins) at 0xFEC00000: IOREGSEL at
 * offset 0x00, IOWIN at 0x10; ID, version, arbitration and the redirection table. Edge pins
 * deliver on a rising input; level pins deliver while asserted and hold remote IRR until the
 * local APIC's EOI. Inputs are logical (asserted/deasserted); polarity is recorded, not applied.
 * Runs under the fabric lock.
 */
public final class IoApic {

    public static final long DEFAULT_BASE = 0xfec00000L;
    public static final int PINS = 24;
    static final int VERSION = 0x00170011; // max redirection entry 23, version 0x11
    /** The version register (firmware tables copy its low byte). */
    public static final int VERSION_REGISTER = VERSION;
    static final long MASKED = 1L << 16;
    static final long REMOTE_IRR = 1L << 14;
    static final long DELIVERY_STATUS = 1L << 12;
    static final long LEVEL = 1L << 15;

    private final Object lock;
    private ApicBus bus;
    private int select;
    private int id;
    private final long[] redirection = new long[PINS];
    private int lines;

    /** The ID after reset: the first APIC ID no local APIC has (1 with one vCPU, as before SMP). */
    private final int powerOnId;

    public IoApic(Object lock) {
        this(lock, 1);
    }

    /** @param powerOnId the IOAPIC's ID after reset (4 bits: 0-15) */
    public IoApic(Object lock, int powerOnId) {
        if (powerOnId < 0 || powerOnId > 15) {
            throw new IllegalArgumentException("IOAPIC ID " + powerOnId + " does not fit 4 bits");
        }
        this.lock = lock;
        this.powerOnId = powerOnId;
        reset();
    }

    /** The ID register's value (firmware tables name the IOAPIC by it). */
    public int id() {
        synchronized (lock) {
            return id;
        }
    }

    public void setBus(ApicBus bus) {
        this.bus = bus;
    }

    public void reset() {
        synchronized (lock) {
            select = 0;
            id = powerOnId; // local APICs take IDs 0..vcpus-1
            java.util.Arrays.fill(redirection, MASKED);
            lines = 0;
        }
    }

    public IoApicState saveState() {
        synchronized (lock) {
            return new IoApicState(select, id, redirection, lines);
        }
    }

    /**
     * Puts the I/O APIC in {@code s}. Sends nothing: interrupts already delivered are in the local
     * APICs' state, and those in flight are remote IRR bits that the guest's EOI will clear.
     */
    public void restoreState(IoApicState s) {
        synchronized (lock) {
            select = s.select();
            id = s.id();
            System.arraycopy(s.redirection(), 0, redirection, 0, PINS);
            lines = s.pinLevels();
        }
    }

    public void setPin(int pin, boolean level) {
        synchronized (lock) {
            int bit = 1 << pin;
            boolean was = (lines & bit) != 0;
            lines = level ? lines | bit : lines & ~bit;
            long entry = redirection[pin];
            if ((entry & MASKED) != 0 || !level) {
                return;
            }
            if ((entry & LEVEL) != 0) {
                if ((entry & REMOTE_IRR) == 0) {
                    send(pin);
                }
            } else if (!was) {
                send(pin);
            }
        }
    }

    private void send(int pin) {
        long entry = redirection[pin];
        boolean level = (entry & LEVEL) != 0;
        if (level) {
            redirection[pin] = entry | REMOTE_IRR;
        }
        if (bus != null) {
            bus.deliver(null, 0, (entry & (1L << 11)) != 0, (int) (entry >>> 56), (int) (entry >>> 8 & 7),
                    (int) (entry & 0xff), level);
        }
    }

    /** A local APIC EOI'd a level-triggered {@code vector}: clear remote IRR, resend if still asserted. */
    public void endOfInterrupt(int vector) {
        synchronized (lock) {
            for (int pin = 0; pin < PINS; pin++) {
                long entry = redirection[pin];
                if ((entry & 0xff) == vector && (entry & REMOTE_IRR) != 0) {
                    redirection[pin] = entry & ~REMOTE_IRR;
                    if ((lines & 1 << pin) != 0 && (entry & MASKED) == 0 && (entry & LEVEL) != 0) {
                        send(pin);
                    }
                }
            }
        }
    }

    public int readRegister(int reg) {
        synchronized (lock) {
            if (reg >= 0x10 && reg < 0x10 + 2 * PINS) {
                long entry = redirection[(reg - 0x10) >>> 1];
                return (int) ((reg & 1) == 0 ? entry : entry >>> 32);
            }
            return switch (reg) {
                case 0 -> id << 24;
                case 1 -> VERSION;
                case 2 -> id << 24;
                default -> 0xffffffff;
            };
        }
    }

    public void writeRegister(int reg, int value) {
        synchronized (lock) {
            if (reg == 0) {
                id = value >>> 24 & 0xf;
            } else if (reg >= 0x10 && reg < 0x10 + 2 * PINS) {
                int pin = (reg - 0x10) >>> 1;
                long old = redirection[pin];
                long entry;
                if ((reg & 1) == 0) {
                    long readOnly = old & (REMOTE_IRR | DELIVERY_STATUS);
                    entry = (old & 0xffffffff00000000L) | (value & 0xffffffffL & ~(REMOTE_IRR | DELIVERY_STATUS)) | readOnly;
                    if ((entry & LEVEL) == 0) {
                        entry &= ~REMOTE_IRR;
                    }
                } else {
                    entry = (old & 0xffffffffL) | ((long) value & 0xff000000L) << 32;
                }
                redirection[pin] = entry;
                // Unmasking a level pin that is asserted delivers it now.
                if ((entry & MASKED) == 0 && (entry & LEVEL) != 0 && (entry & REMOTE_IRR) == 0 && (lines & 1 << pin) != 0) {
                    send(pin);
                }
            }
        }
    }

    public MmioHandler mmio() {
        return new MmioHandler() {
            @Override
            public long mmioRead(long offset, int size) {
                synchronized (lock) {
                    if (offset == 0) {
                        return select;
                    }
                    if ((offset & ~3L) == 0x10) {
                        return readRegister(select) & 0xffffffffL;
                    }
                    return 0xffffffffL;
                }
            }

            @Override
            public void mmioWrite(long offset, int size, long value) {
                synchronized (lock) {
                    if (offset == 0) {
                        select = (int) value & 0xff;
                    } else if ((offset & ~3L) == 0x10) {
                        writeRegister(select, (int) value);
                    }
                }
            }
        };
    }

    long entry(int pin) {
        synchronized (lock) {
            return redirection[pin];
        }
    }
}
