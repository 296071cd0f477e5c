package org.xenj.hvm.qemudm.internal.ide;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * Every guest-visible bit of the PIIX3 IDE function: its timing registers (0x40-0x4f), and per
 * channel the task file with its HOB copies, each drive's status, error, settings and ATAPI sense,
 * the transfer in progress (phase, PIO buffer and position, what remains and where) and the
 * bus-master registers. Taken after in-flight disk I/O and DMA finished (or were aborted), so no
 * phase is busy. Since version 2 each drive also carries its medium (what a CD-ROM holds after
 * {@code xen:cd-insert}/{@code cd-eject}, which may differ from the domain's configuration) and
 * the pending media event's code. Versioned bytes; {@link #fromBytes} reads versions 1 and 2 and
 * refuses others or a damaged record.
 */
public record IdeState(byte[] timing, Channel primary, Channel secondary) {

    /** "XJID". */
    public static final int MAGIC = 0x584a4944;
    public static final int VERSION = 2;
    /** The longest medium (format and path) a record may carry. */
    static final int MAX_MEDIUM = 4096;
    static final int TIMING_BYTES = 16;
    /** Per drive: feature, nsect, lbal, lbam, lbah and their HOB copies; then device, device control. */
    static final int TASK_FILE = 22;

    /**
     * @param mediaEvent the media event code GET EVENT STATUS reports next (0 none, 2 new media, 3 removal)
     * @param medium     what is in the drive: "" nothing, {@code raw:/path}; null not recorded (a version 1
     *                   record, a drive whose opener did not say) — the next owner keeps what it opened
     */
    public record Drive(int status, int error, int multiple, int heads, int sectorsPerTrack, int mwdmaMode,
            boolean writeCache, int senseKey, int asc, boolean unitAttention, int mediaEvent, String medium) {
    }

    /**
     * @param taskFile {@link #TASK_FILE} bytes: each drive's feature, nsect, lbal, lbam, lbah and their HOB
     *                 copies, then device and device control
     * @param phase    {@link IdeChannel.Phase} ordinal (never BUSY or DMA_RUN)
     * @param buffer   the PIO buffer's valid bytes
     */
    public record Channel(int[] taskFile, Drive master, Drive slave, boolean irqPending, int phase, int unit, int command,
            byte[] buffer, int bufPos, long remaining, long diskOffset, boolean atapiDma, int atapiLimit, int bmCommand,
            int bmStatus, int prdTable) {

        public Channel {
            taskFile = taskFile.clone();
            if (taskFile.length != TASK_FILE) {
                throw new IllegalArgumentException("an IDE task file is " + TASK_FILE + " registers");
            }
            buffer = buffer.clone();
        }

        @Override
        public int[] taskFile() {
            return taskFile.clone();
        }

        @Override
        public byte[] buffer() {
            return buffer.clone();
        }
    }

    public IdeState {
        timing = timing.clone();
        if (timing.length != TIMING_BYTES) {
            throw new IllegalArgumentException("IDE timing registers are 16 bytes");
        }
    }

    @Override
    public byte[] timing() {
        return timing.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(512);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.write(timing);
            write(out, primary);
            write(out, secondary);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    private static void write(DataOutputStream out, Channel c) throws IOException {
        for (int v : c.taskFile) {
            out.writeByte(v);
        }
        write(out, c.master());
        write(out, c.slave());
        out.writeBoolean(c.irqPending());
        out.writeByte(c.phase());
        out.writeByte(c.unit());
        out.writeByte(c.command());
        out.writeInt(c.buffer.length);
        out.write(c.buffer);
        out.writeInt(c.bufPos());
        out.writeLong(c.remaining());
        out.writeLong(c.diskOffset());
        out.writeBoolean(c.atapiDma());
        out.writeShort(c.atapiLimit());
        out.writeByte(c.bmCommand());
        out.writeByte(c.bmStatus());
        out.writeInt(c.prdTable());
    }

    private static void write(DataOutputStream out, Drive d) throws IOException {
        out.writeByte(d.status());
        out.writeByte(d.error());
        out.writeByte(d.multiple());
        out.writeByte(d.heads());
        out.writeByte(d.sectorsPerTrack());
        out.writeByte(d.mwdmaMode());
        out.writeBoolean(d.writeCache());
        out.writeByte(d.senseKey());
        out.writeByte(d.asc());
        out.writeBoolean(d.unitAttention());
        out.writeByte(d.mediaEvent());
        out.writeBoolean(d.medium() != null);
        if (d.medium() != null) {
            out.writeUTF(d.medium());
        }
    }

    public static IdeState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not an IDE state record");
        }
        int version = in.readInt();
        if (version != VERSION && version != 1) {
            throw new IOException("IDE state version " + version + " is not supported (this qemu-dm reads " + VERSION + ")");
        }
        byte[] timing = in.readNBytes(TIMING_BYTES);
        if (timing.length != TIMING_BYTES) {
            throw new IOException("IDE state record is cut short");
        }
        Channel p = readChannel(in, version);
        Channel s = readChannel(in, version);
        if (in.read() != -1) {
            throw new IOException("IDE state record has the wrong length");
        }
        return new IdeState(timing, p, s);
    }

    private static Channel readChannel(DataInputStream in, int version) throws IOException {
        int[] tf = new int[TASK_FILE];
        for (int i = 0; i < tf.length; i++) {
            tf[i] = in.readUnsignedByte();
        }
        Drive m = readDrive(in, version);
        Drive s = readDrive(in, version);
        boolean irq = in.readBoolean();
        int phase = in.readUnsignedByte();
        int unit = in.readUnsignedByte();
        int command = in.readUnsignedByte();
        int len = in.readInt();
        if (len < 0 || len > IdeChannel.BUFFER) {
            throw new IOException("IDE state record is damaged (buffer of " + len + " bytes)");
        }
        byte[] buffer = in.readNBytes(len);
        if (buffer.length != len) {
            throw new IOException("IDE state record is cut short");
        }
        int bufPos = in.readInt();
        long remaining = in.readLong();
        long diskOffset = in.readLong();
        boolean atapiDma = in.readBoolean();
        int limit = in.readUnsignedShort();
        int bmCommand = in.readUnsignedByte();
        int bmStatus = in.readUnsignedByte();
        int prd = in.readInt();
        IdeChannel.Phase[] phases = IdeChannel.Phase.values();
        if (phase >= phases.length || phases[phase] == IdeChannel.Phase.BUSY || phases[phase] == IdeChannel.Phase.DMA_RUN
                || unit > 1 || bufPos < 0 || bufPos > len || remaining < 0 || diskOffset < 0 || (limit & 1) != 0
                || (bmCommand & ~0x09) != 0 || (prd & 3) != 0) {
            throw new IOException("IDE state record is damaged");
        }
        return new Channel(tf, m, s, irq, phase, unit, command, buffer, bufPos, remaining, diskOffset, atapiDma, limit,
                bmCommand, bmStatus, prd);
    }

    private static Drive readDrive(DataInputStream in, int version) throws IOException {
        int status = in.readUnsignedByte();
        int error = in.readUnsignedByte();
        int multiple = in.readUnsignedByte();
        int heads = in.readUnsignedByte();
        int spt = in.readUnsignedByte();
        int mwdma = in.readByte();
        boolean wc = in.readBoolean();
        int key = in.readUnsignedByte();
        int asc = in.readUnsignedByte();
        boolean ua = in.readBoolean();
        int event;
        String medium = null;
        if (version == 1) {
            event = in.readBoolean() ? 2 : 0; // version 1 knew "new media" only
        } else {
            event = in.readUnsignedByte();
            if (in.readBoolean()) {
                medium = in.readUTF();
                if (medium.length() > MAX_MEDIUM || !(medium.isEmpty() || medium.startsWith("raw:") || medium.startsWith("qcow2:"))) {
                    throw new IOException("IDE state record is damaged (medium)");
                }
            }
        }
        if (event != 0 && event != 2 && event != 3 || multiple > IdeDrive.MAX_MULTIPLE || Integer.bitCount(multiple) > 1 || heads > 16 || mwdma < -1 || mwdma > 2
                || key > 15) { // BSY may be set: a drive held in SRST is busy with nothing in flight
            throw new IOException("IDE state record is damaged (drive)");
        }
        return new Drive(status, error, multiple, heads, spt, mwdma, wc, key, asc, ua, event, medium);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IdeState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
