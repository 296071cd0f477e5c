package org.xenj.hypervisor.internal.platform.pic;

/**
 * One Intel 8259A programmable interrupt controller: the register state and the priority logic.
 * Not thread-safe; {@link PicPair} serialises access. Written from the 8259A datasheet: ICW1-4
 * initialisation sequence, OCW1 (mask), OCW2 (EOI and rotation), OCW3 (register select, poll,
 * special mask), edge or level sensing per input (the PIIX ELCR), auto-EOI and special fully
 * nested mode.
 */
final class Pic8259 {

    /** Power-on / ICW1 state of every field is set in {@link #powerOn} and {@link #initialise}. */
    int irr;
    int imr;
    int isr;
    /** Edge/level control: bit set = level-sensitive input. Only {@link #elcrMask} bits are writable. */
    int elcr;
    final int elcrMask;
    /** Input line levels, to detect rising edges. */
    int lineLevels;
    int vectorBase;
    /** The input with the highest priority (rotation moves it). */
    int priorityAdd;
    boolean readIsr;
    boolean pollPending;
    boolean specialMask;
    boolean autoEoi;
    boolean rotateOnAutoEoi;
    boolean specialFullyNested;
    boolean expectIcw4;
    boolean singleMode;
    /** 0 = operational; 2, 3, 4 = the ICW expected next. */
    int initStep;
    /** The cascade input (IR2 of the master), or -1 for the slave. */
    private final int cascadeInput;

    Pic8259(int elcrMask, int cascadeInput, int vectorBase) {
        this.elcrMask = elcrMask;
        this.cascadeInput = cascadeInput;
        powerOn(vectorBase);
    }

    void powerOn(int base) {
        initialise();
        imr = 0xff; // as firmware leaves it: everything masked until the OS programs the PIC
        elcr = 0;
        vectorBase = base;
        initStep = 0;
    }

    /** What ICW1 resets (datasheet: IMR cleared, IR7 lowest priority, special mask off, IRR read). */
    private void initialise() {
        irr &= elcr; // the edge sense latches are reset; level inputs still assert
        lineLevels = 0;
        imr = 0;
        isr = 0;
        priorityAdd = 0;
        readIsr = false;
        pollPending = false;
        specialMask = false;
        autoEoi = false;
        rotateOnAutoEoi = false;
        specialFullyNested = false;
        expectIcw4 = false;
        singleMode = false;
    }

    void setInput(int pin, boolean level) {
        int bit = 1 << pin;
        if ((elcr & bit) != 0) {
            irr = level ? irr | bit : irr & ~bit;
        } else if (level && (lineLevels & bit) == 0) {
            irr |= bit;
        }
        lineLevels = level ? lineLevels | bit : lineLevels & ~bit;
    }

    /** 0 = highest priority ... 7 = lowest, of the highest-priority bit in {@code mask}; 8 if none. */
    private int priorityOf(int mask) {
        if ((mask & 0xff) == 0) {
            return 8;
        }
        int p = 0;
        while ((mask & (1 << ((p + priorityAdd) & 7))) == 0) {
            p++;
        }
        return p;
    }

    /** The input that would be acknowledged now, or -1 if the INT output is low. */
    int pendingInput() {
        int p = priorityOf(irr & ~imr);
        if (p == 8) {
            return -1;
        }
        int inService = isr;
        if (specialMask) {
            inService &= ~imr; // masked in-service levels do not inhibit lower priorities
        }
        if (specialFullyNested && cascadeInput >= 0) {
            inService &= ~(1 << cascadeInput); // the slave may interrupt its own in-service level
        }
        return p < priorityOf(inService) ? (p + priorityAdd) & 7 : -1;
    }

    /** INTA: returns the acknowledged input; 7 without state change when nothing is pending (spurious IRQ7). */
    int acknowledge() {
        int pin = pendingInput();
        if (pin < 0) {
            return 7;
        }
        int bit = 1 << pin;
        if ((elcr & bit) == 0) {
            irr &= ~bit;
        }
        if (autoEoi) {
            if (rotateOnAutoEoi) {
                priorityAdd = (pin + 1) & 7;
            }
        } else {
            isr |= bit;
        }
        return pin;
    }

    void writeCommand(int value) {
        if ((value & 0x10) != 0) { // ICW1
            initialise();
            expectIcw4 = (value & 0x01) != 0;
            singleMode = (value & 0x02) != 0;
            initStep = 2;
        } else if ((value & 0x08) != 0) { // OCW3
            if ((value & 0x04) != 0) {
                pollPending = true;
            }
            if ((value & 0x02) != 0) {
                readIsr = (value & 0x01) != 0;
            }
            if ((value & 0x40) != 0) {
                specialMask = (value & 0x20) != 0;
            }
        } else {
            writeOcw2(value);
        }
    }

    private void writeOcw2(int value) {
        int level = value & 7;
        switch ((value >>> 5) & 7) {
            case 0 -> rotateOnAutoEoi = false;
            case 4 -> rotateOnAutoEoi = true;
            case 1, 5 -> { // non-specific EOI, optionally rotating
                int p = priorityOf(isr);
                if (p != 8) {
                    int pin = (p + priorityAdd) & 7;
                    isr &= ~(1 << pin);
                    if ((value & 0x80) != 0) {
                        priorityAdd = (pin + 1) & 7;
                    }
                }
            }
            case 3 -> isr &= ~(1 << level);
            case 7 -> {
                isr &= ~(1 << level);
                priorityAdd = (level + 1) & 7;
            }
            case 6 -> priorityAdd = (level + 1) & 7; // set priority: level becomes the lowest
            default -> { } // 2: no operation
        }
    }

    void writeData(int value) {
        switch (initStep) {
            case 2 -> {
                vectorBase = value & 0xf8;
                initStep = singleMode ? (expectIcw4 ? 4 : 0) : 3;
            }
            case 3 -> initStep = expectIcw4 ? 4 : 0; // ICW3: cascade wiring is fixed on a PC
            case 4 -> {
                autoEoi = (value & 0x02) != 0;
                specialFullyNested = (value & 0x10) != 0;
                initStep = 0;
            }
            default -> imr = value & 0xff;
        }
    }

    PicState.Chip save() {
        return new PicState.Chip(irr, isr, imr, elcr, lineLevels, vectorBase, priorityAdd, readIsr, pollPending, specialMask,
                autoEoi, rotateOnAutoEoi, specialFullyNested, expectIcw4, singleMode, initStep);
    }

    /** Loads {@code s}, already checked by its constructor (ELCR against this chip's mask by {@link PicState}). */
    void restore(PicState.Chip s) {
        irr = s.irr();
        isr = s.isr();
        imr = s.imr();
        elcr = s.elcr() & elcrMask;
        lineLevels = s.lineLevels();
        vectorBase = s.vectorBase();
        priorityAdd = s.priorityAdd();
        readIsr = s.readIsr();
        pollPending = s.pollPending();
        specialMask = s.specialMask();
        autoEoi = s.autoEoi();
        rotateOnAutoEoi = s.rotateOnAutoEoi();
        specialFullyNested = s.specialFullyNested();
        expectIcw4 = s.expectIcw4();
        singleMode = s.singleMode();
        initStep = s.initStep();
    }

    /** Port A0=0 read without a pending poll: IRR or ISR as selected by OCW3. */
    int readStatus() {
        return readIsr ? isr : irr;
    }
}
