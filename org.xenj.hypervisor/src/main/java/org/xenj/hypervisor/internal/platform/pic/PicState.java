package org.xenj.hypervisor.internal.platform.pic;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;

/**
 * Every guest-visible bit of the {@link PicPair}: per 8259A its request, in-service and mask
 * registers, the ELCR, the input levels (for edge detection), where the ICW sequence stands and
 * what ICW1/ICW4 chose, the OCW2 rotation and OCW3 selections. Versioned bytes; {@link #fromBytes}
 * refuses another version or a damaged record, and the constructors refuse a state no pair could
 * be in — including a master whose cascade request disagrees with the slave's output.
 *
 * @param master the chip at 0x20 (ISA IRQ 0-7)
 * @param slave  the chip at 0xA0 (ISA IRQ 8-15), on master IR2
 */
public record PicState(Chip master, Chip slave) {

    /** "XJP1". */
    public static final int MAGIC = 0x584a5031;
    public static final int VERSION = 1;

    public PicState {
        if (master == null || slave == null) {
            throw new IllegalArgumentException("PIC state lacks a chip");
        }
        if ((master.elcr & ~PicPair.MASTER_ELCR_MASK) != 0 || (slave.elcr & ~PicPair.SLAVE_ELCR_MASK) != 0) {
            throw new IllegalArgumentException("PIC state: ELCR bits set for edge-only inputs (IRQ0-2, 8, 13)");
        }
        // The master's IR2 follows the slave's INT output; anything else is a request no INTA could serve.
        boolean slaveOutput = PicPair.slaveChip(slave).pendingInput() >= 0;
        if (((master.irr & 1 << PicPair.CASCADE) != 0) != slaveOutput) {
            throw new IllegalArgumentException("PIC state: master IR2 disagrees with the slave's output");
        }
    }

    /**
     * One 8259A.
     *
     * @param irr               interrupt request register
     * @param isr               in-service register
     * @param imr               interrupt mask register (OCW1)
     * @param elcr              edge/level control (bit set: level-sensitive)
     * @param lineLevels        the inputs' levels, to see rising edges
     * @param vectorBase        ICW2: vector of IR0 (multiple of 8)
     * @param priorityAdd       the input with the highest priority (rotation)
     * @param readIsr           OCW3: a status read returns the ISR (else the IRR)
     * @param pollPending       OCW3 poll command: the next status read is a poll
     * @param specialMask       OCW3 special mask mode
     * @param autoEoi           ICW4 automatic EOI
     * @param rotateOnAutoEoi   OCW2 rotate in automatic EOI mode
     * @param specialFullyNested ICW4 special fully nested mode
     * @param expectIcw4        ICW1 announced an ICW4
     * @param singleMode        ICW1 single (no ICW3)
     * @param initStep          0 operational, else the ICW (2, 3, 4) expected next
     */
    public record Chip(int irr, int isr, int imr, int elcr, int lineLevels, int vectorBase, int priorityAdd, boolean readIsr,
            boolean pollPending, boolean specialMask, boolean autoEoi, boolean rotateOnAutoEoi, boolean specialFullyNested,
            boolean expectIcw4, boolean singleMode, int initStep) {

        public Chip {
            if (((irr | isr | imr | elcr | lineLevels | vectorBase) & ~0xff) != 0 || (vectorBase & 7) != 0
                    || priorityAdd < 0 || priorityAdd > 7) {
                throw new IllegalArgumentException("8259 state: a register is out of range");
            }
            // ICW3 only comes in cascade mode, ICW4 only when ICW1 announced it.
            boolean stepOk = switch (initStep) {
                case 0, 2 -> true;
                case 3 -> !singleMode;
                case 4 -> expectIcw4;
                default -> false;
            };
            if (!stepOk) {
                throw new IllegalArgumentException("8259 state: initialisation step " + initStep + " cannot follow this ICW1");
            }
        }

        void write(DataOutput out) throws IOException {
            for (int v : new int[] {irr, isr, imr, elcr, lineLevels, vectorBase, priorityAdd, initStep}) {
                out.writeByte(v);
            }
            int bits = 0;
            boolean[] flags = {readIsr, pollPending, specialMask, autoEoi, rotateOnAutoEoi, specialFullyNested, expectIcw4,
                singleMode};
            for (int i = 0; i < flags.length; i++) {
                bits |= flags[i] ? 1 << i : 0;
            }
            out.writeByte(bits);
        }

        static Chip read(DataInput in) throws IOException {
            int[] v = new int[8];
            for (int i = 0; i < v.length; i++) {
                v[i] = in.readUnsignedByte();
            }
            int b = in.readUnsignedByte();
            try {
                return new Chip(v[0], v[1], v[2], v[3], v[4], v[5], v[6], (b & 1) != 0, (b & 2) != 0, (b & 4) != 0, (b & 8) != 0,
                        (b & 16) != 0, (b & 32) != 0, (b & 64) != 0, (b & 128) != 0, v[7]);
            } catch (IllegalArgumentException e) {
                throw new IOException("PIC state record is damaged: " + e.getMessage(), e);
            }
        }
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(32);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static PicState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        PicState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("PIC state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("PIC state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        master.write(out);
        slave.write(out);
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static PicState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a PIC state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("PIC state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        Chip m = Chip.read(in), s = Chip.read(in);
        try {
            return new PicState(m, s);
        } catch (IllegalArgumentException e) {
            throw new IOException("PIC state record is damaged: " + e.getMessage(), e);
        }
    }
}
