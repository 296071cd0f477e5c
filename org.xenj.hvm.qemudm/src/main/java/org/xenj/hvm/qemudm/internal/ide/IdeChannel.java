package org.xenj.hvm.qemudm.internal.ide;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * One IDE channel (primary or secondary): the task-file registers both drives share, each drive's
 * status, the PIO data buffer, and this channel's half of the PIIX bus-master function (command,
 * status, PRD table pointer). Port accesses come on vCPU threads and never block: disk I/O and DMA
 * run on the device executor and finish under the channel's lock, dropped if a reset came between
 * ({@link #generation}). One lock per channel; the interrupt line is driven outside it.
 */
final class IdeChannel {

    static final int BSY = 0x80, DRDY = 0x40, DF = 0x20, DSC = 0x10, DRQ = 0x08, ERR = 0x01;
    static final int ABRT = 0x04, IDNF = 0x10, UNC = 0x40;
    static final int CTL_NIEN = 0x02, CTL_SRST = 0x04, CTL_HOB = 0x80;
    static final int BM_START = 0x01, BM_TO_MEMORY = 0x08;
    static final int BMS_ACTIVE = 0x01, BMS_ERROR = 0x02, BMS_INTR = 0x04, BMS_CAPABLE = 0x60;
    /** PIO buffer: the largest ATAPI DRQ chunk (byte count limit 0xfffe) or READ MULTIPLE block. */
    static final int BUFFER = 0x10000;
    /** A PRD table lives in one 64 KiB page: at most 8192 entries, then it is the guest's error. */
    static final int MAX_PRD = 8192;

    enum Phase {
        IDLE, BUSY, PIO_IN, PIO_OUT, PACKET, DMA_WAIT, DMA_RUN
    }

    final int index;
    final IdeDrive[] drives = new IdeDrive[2];
    private final GuestMemory memory;
    private final Executor executor;
    private final Consumer<Boolean> irqLine;
    private final Consumer<String> log;
    private final Object irqLock = new Object();
    private boolean lineLevel;

    // task file (written to both drives, as the cable does), HOB copies for 48-bit commands
    // task file: each drive keeps its own copy (a reset signature, an ATAPI byte count are one
    // drive's), host writes reach both, as on the cable
    final int[] feature = new int[2], nsect = new int[2], lbal = new int[2], lbam = new int[2], lbah = new int[2];
    final int[] hobFeature = new int[2], hobNsect = new int[2], hobLbal = new int[2], hobLbam = new int[2], hobLbah = new int[2];
    int device, control;
    // per drive
    final int[] status = new int[2], error = new int[2], multiple = new int[2], heads = {16, 16}, spt = {63, 63};
    final int[] mwdma = {-1, -1};
    final boolean[] writeCache = {true, true};
    final Atapi.Sense[] sense = {new Atapi.Sense(), new Atapi.Sense()};
    boolean irqPending;
    // the transfer in progress
    Phase phase = Phase.IDLE;
    int unit;
    int command;
    final byte[] buffer = new byte[BUFFER];
    int bufPos, bufLen;
    /** Bytes still to move after the buffer's, from or to {@link #diskOffset}. */
    long remaining;
    long diskOffset;
    boolean atapiDma;
    int atapiLimit;
    // bus master
    int bmCommand, bmStatus, prdTable;
    /** Bumped by every reset: a completion of older work is dropped. */
    long generation;
    private final byte[] ioBuffer = new byte[BUFFER];
    final byte[] cdb = new byte[12];

    IdeChannel(int index, GuestMemory memory, Executor executor, Consumer<Boolean> irqLine, Consumer<String> log) {
        this.index = index;
        this.memory = memory;
        this.executor = executor;
        this.irqLine = irqLine;
        this.log = log;
        powerOn();
    }

    synchronized void attach(IdeDrive drive) {
        drives[drive.position() & 1] = drive;
        signature(drive.position() & 1);
    }

    /** The drive is gone (unplug): its position reads as absent from now on. */
    synchronized void remove(int u) {
        if (unit == u && phase != Phase.IDLE) {
            generation++;
            phase = Phase.IDLE;
        }
        drives[u] = null;
        status[u] = 0;
    }

    synchronized IdeDrive drive(int u) {
        return drives[u];
    }

    /** Power-on / platform reset: registers, transfers and bus master to their initial values. */
    void powerOn() {
        synchronized (this) {
            generation++;
            control = 0;
            bmCommand = 0;
            bmStatus = 0;
            prdTable = 0;
            for (int u = 0; u < 2; u++) {
                multiple[u] = 0;
                heads[u] = 16;
                spt[u] = 63;
                mwdma[u] = -1;
                writeCache[u] = true;
            }
            resetDrives();
        }
        syncIrq();
    }

    void resetDrives() {
        generation++;
        phase = Phase.IDLE;
        irqPending = false;
        bufPos = bufLen = 0;
        remaining = 0;
        for (int[] r : new int[][] {feature, hobFeature, hobNsect, hobLbal, hobLbam, hobLbah}) {
            r[0] = r[1] = 0;
        }
        device = 0;
        for (int u = 0; u < 2; u++) {
            signature(u);
        }
    }

    /** The reset signature: ATA 01/01/00/00, ATAPI 01/01/14/EB; diagnostics passed. */
    void signature(int u) {
        nsect[u] = 1;
        lbal[u] = 1;
        IdeDrive d = drives[u];
        boolean atapi = d != null && d.atapi();
        lbam[u] = atapi ? 0x14 : 0;
        lbah[u] = atapi ? 0xeb : 0;
        error[u] = 1;
        status[u] = d == null ? 0 : atapi ? 0 : DRDY | DSC;
    }

    private boolean noDrives() {
        return drives[0] == null && drives[1] == null;
    }

    private int selected() {
        return (device >> 4) & 1;
    }

    // ---- command block (0x1F0-0x1F7), control block (0x3F6) ----

    int commandRead(int reg, int size) {
        int v;
        if (reg == 0) {
            boolean lineMayChange;
            synchronized (this) {
                boolean before = irqPending;
                v = dataRead(size);
                lineMayChange = irqPending != before;
            }
            if (lineMayChange) {
                syncIrq(); // the last word of an ATAPI transfer ends the command with an interrupt
            }
            return v;
        }
        synchronized (this) {
            int u = selected();
            boolean hob = (control & CTL_HOB) != 0;
            if (noDrives()) {
                return 0xff;
            }
            if (drives[u] == null) {
                v = 0; // an absent slave reads 0: Linux's probe sees no device there
            } else {
                v = switch (reg) {
                    case 1 -> hob ? hobFeature[u] : error[u];
                    case 2 -> hob ? hobNsect[u] : nsect[u];
                    case 3 -> hob ? hobLbal[u] : lbal[u];
                    case 4 -> hob ? hobLbam[u] : lbam[u];
                    case 5 -> hob ? hobLbah[u] : lbah[u];
                    case 6 -> device | 0xa0;
                    default -> status[u];
                };
            }
            if (reg != 7 || !irqPending) {
                return v;
            }
            irqPending = false; // reading status acknowledges the interrupt
        }
        syncIrq();
        return v;
    }

    void commandWrite(int reg, int size, int value) {
        synchronized (this) {
            if (reg == 0) {
                dataWrite(size, value); // a full packet or PIO block may raise the line: synced below
            } else {
                registerWrite(reg, value);
            }
        }
        syncIrq();
    }

    private void registerWrite(int reg, int value) {
        {
            int b = value & 0xff;
            control &= ~CTL_HOB;
            switch (reg) {
                case 1 -> shift(hobFeature, feature, b);
                case 2 -> shift(hobNsect, nsect, b);
                case 3 -> shift(hobLbal, lbal, b);
                case 4 -> shift(hobLbam, lbam, b);
                case 5 -> shift(hobLbah, lbah, b);
                case 6 -> device = b;
                default -> execute(b);
            }
        }
    }

    /** A host write reaches both drives; the previous value moves to the HOB copy (48-bit commands). */
    private static void shift(int[] hob, int[] reg, int b) {
        hob[0] = reg[0];
        hob[1] = reg[1];
        reg[0] = b;
        reg[1] = b;
    }

    synchronized int altStatus() {
        if (noDrives()) {
            return 0xff;
        }
        return drives[selected()] == null ? 0 : status[selected()];
    }

    void controlWrite(int value) {
        synchronized (this) {
            int old = control;
            control = value & (CTL_NIEN | CTL_SRST | CTL_HOB);
            if ((value & CTL_SRST) != 0 && (old & CTL_SRST) == 0) {
                generation++;
                phase = Phase.IDLE;
                for (int u = 0; u < 2; u++) {
                    status[u] = drives[u] == null ? 0 : BSY;
                }
                bmStatus &= ~BMS_ACTIVE;
            } else if ((value & CTL_SRST) == 0 && (old & CTL_SRST) != 0) {
                resetDrives();
            }
        }
        syncIrq();
    }

    // ---- data port ----

    private int dataRead(int size) {
        if (phase != Phase.PIO_IN) {
            return size == 4 ? -1 : (1 << (8 * size)) - 1;
        }
        int v = 0;
        for (int i = 0; i < size && bufPos < bufLen; i++) {
            v |= (buffer[bufPos++] & 0xff) << (8 * i); // past the end (an odd tail) reads zeros
        }
        if (bufPos >= bufLen) {
            pioBlockDone();
        }
        return v;
    }

    private void dataWrite(int size, int value) {
        if (phase != Phase.PIO_OUT && phase != Phase.PACKET) {
            return;
        }
        for (int i = 0; i < size && bufPos < bufLen; i++) {
            buffer[bufPos++] = (byte) (value >>> (8 * i));
        }
        if (bufPos >= bufLen) {
            if (phase == Phase.PACKET) {
                AtapiPhases.packet(this);
            } else {
                pioBlockDone();
            }
        }
    }

    // ---- ATA commands ----

    private void execute(int cmd) {
        int u = selected();
        IdeDrive d = drives[u];
        if (d == null || (status[u] & BSY) != 0 && cmd != 0x08) {
            return; // no device answers; or it is busy (only DEVICE RESET gets through)
        }
        irqPending = false;
        command = cmd;
        unit = u;
        error[u] = 0;
        if (d.atapi()) {
            AtapiPhases.execute(this, d, cmd);
            return;
        }
        switch (cmd) {
            case 0xec -> pioIn(words(d.identify(multiple[u], heads[u], spt[u], mwdma[u], writeCache[u])));
            case 0x20, 0x21, 0x24, 0xc4, 0x29 -> startRw(d, cmd == 0x24 || cmd == 0x29, false, cmd == 0xc4 || cmd == 0x29, false);
            case 0x30, 0x31, 0x34, 0xc5, 0x39 -> startRw(d, cmd == 0x34 || cmd == 0x39, true, cmd == 0xc5 || cmd == 0x39, false);
            case 0xc8, 0xc9, 0x25 -> startRw(d, cmd == 0x25, false, false, true);
            case 0xca, 0xcb, 0x35 -> startRw(d, cmd == 0x35, true, false, true);
            case 0x40, 0x41, 0x42, 0x70, 0xe0, 0xe1, 0xe2, 0xe3 -> done(); // verify, seek, standby/idle
            case 0xe5 -> { nsect[unit] = 0xff; done(); } // CHECK POWER MODE: active
            case 0xe7, 0xea -> flush(d);
            case 0xef -> setFeatures(u);
            case 0xc6 -> {
                int n = nsect[unit];
                if (n > IdeDrive.MAX_MULTIPLE || Integer.bitCount(n) > 1) {
                    abort();
                } else {
                    multiple[u] = n;
                    done();
                }
            }
            case 0x91 -> { heads[u] = (device & 0x0f) + 1; spt[u] = nsect[unit]; done(); }
            case 0x90 -> { resetDrives(); raise(); }
            default -> {
                if (cmd >= 0x10 && cmd <= 0x1f) {
                    done(); // RECALIBRATE
                } else {
                    abort();
                }
            }
        }
    }

    void setFeatures(int u) {
        switch (feature[unit]) {
            case 0x03 -> { // transfer mode: PIO (0x08-0x0f) or multiword DMA (0x20-0x22)
                if (nsect[unit] >= 0x20 && nsect[unit] <= 0x22) {
                    mwdma[u] = nsect[unit] & 7;
                } else if (nsect[unit] > 0x0f) {
                    abort();
                    return;
                }
                done();
            }
            case 0x02 -> { writeCache[u] = true; done(); }
            case 0x82 -> { writeCache[u] = false; done(); }
            case 0x55, 0xaa, 0x66, 0xcc -> done(); // read look-ahead, reverting defaults
            default -> abort();
        }
    }

    /** READ/WRITE SECTORS, MULTIPLE and DMA, 28- or 48-bit. */
    private void startRw(IdeDrive d, boolean lba48, boolean write, boolean multi, boolean dma) {
        int u = unit;
        long lba;
        long count;
        if (lba48) {
            lba = (long) hobLbah[unit] << 40 | (long) hobLbam[unit] << 32 | (long) hobLbal[unit] << 24 | lbah[unit] << 16 | lbam[unit] << 8 | lbal[unit];
            count = hobNsect[unit] << 8 | nsect[unit];
            count = count == 0 ? 65536 : count;
        } else {
            count = nsect[unit] == 0 ? 256 : nsect[unit];
            if ((device & 0x40) != 0) {
                lba = (device & 0x0f) << 24 | lbah[unit] << 16 | lbam[unit] << 8 | lbal[unit];
            } else { // CHS with the geometry of INITIALIZE DEVICE PARAMETERS
                long cyl = lbah[unit] << 8 | lbam[unit];
                if (lbal[unit] == 0 || spt[u] == 0) {
                    abortWith(IDNF);
                    return;
                }
                lba = (cyl * heads[u] + (device & 0x0f)) * spt[u] + lbal[unit] - 1;
            }
        }
        if (multi && multiple[u] == 0) {
            abort(); // READ/WRITE MULTIPLE without SET MULTIPLE
            return;
        }
        if (lba + count > d.sectors()) {
            abortWith(IDNF);
            return;
        }
        if (write && d.readOnly()) {
            abort();
            return;
        }
        diskOffset = lba * IdeDrive.SECTOR;
        long bytes = count * IdeDrive.SECTOR;
        if (dma) {
            remaining = bytes;
            bufLen = bufPos = 0;
            phase = Phase.DMA_WAIT;
            status[u] = DRDY | DSC | DRQ;
            maybeStartDma();
            return;
        }
        int block = (multi ? multiple[u] : 1) * IdeDrive.SECTOR;
        if (write) {
            remaining = bytes;
            nextOutBlock(block);
        } else {
            remaining = bytes;
            readNextBlock(block);
        }
    }

    /** The guest may write the next PIO block: DRQ, and an interrupt for every block but the first. */
    private void nextOutBlock(int block) {
        int n = (int) Math.min(block, remaining);
        remaining -= n;
        bufPos = 0;
        bufLen = n;
        phase = Phase.PIO_OUT;
        status[unit] = DRDY | DSC | DRQ;
    }

    /** Reads the next PIO block on the executor; DRQ and an interrupt when it is in the buffer. */
    void readNextBlock(int block) {
        int n = (int) Math.min(Math.min(block, remaining), BUFFER);
        long at = diskOffset;
        remaining -= n;
        diskOffset += n;
        phase = Phase.BUSY;
        status[unit] = BSY | DRDY;
        BlockDevice image = drives[unit].image();
        long gen = generation;
        boolean atapi = drives[unit].atapi();
        executor.execute(() -> {
            boolean ok = readDisk(image, at, n);
            synchronized (this) {
                if (gen != generation) {
                    return;
                }
                if (!ok) {
                    failIo(atapi, false);
                } else {
                    System.arraycopy(ioBuffer, 0, buffer, 0, n);
                    bufPos = 0;
                    bufLen = n;
                    phase = Phase.PIO_IN;
                    if (atapi) {
                        lbam[unit] = n & 0xff;
                        lbah[unit] = n >> 8;
                        nsect[unit] = 0x02; // IO: data to the host
                    }
                    status[unit] = DRDY | DSC | DRQ;
                    raise();
                }
            }
            syncIrq();
        });
    }

    private boolean readDisk(BlockDevice image, long at, int n) {
        return DmaEngine.io(image, false, at, ByteBuffer.wrap(ioBuffer, 0, n), log, "ide" + index);
    }

    /** The PIO buffer was drained (data in) or filled (data out). */
    private void pioBlockDone() {
        IdeDrive d = drives[unit];
        if (phase == Phase.PIO_OUT) {
            int n = bufLen;
            long at = diskOffset;
            diskOffset += n;
            byte[] data = java.util.Arrays.copyOf(buffer, n);
            phase = Phase.BUSY;
            status[unit] = BSY | DRDY;
            long gen = generation;
            BlockDevice image = d.image();
            int block = multipleBlock();
            executor.execute(() -> {
                boolean ok = writeDisk(image, at, data);
                synchronized (this) {
                    if (gen != generation) {
                        return;
                    }
                    if (!ok) {
                        failIo(false, true);
                    } else if (remaining > 0) {
                        nextOutBlock(block);
                        raise();
                    } else {
                        phase = Phase.IDLE;
                        status[unit] = DRDY | DSC;
                        raise();
                    }
                }
                syncIrq();
            });
            return;
        }
        if (remaining > 0) {
            readNextBlock(d.atapi() ? AtapiPhases.chunk(this) : multipleBlock());
        } else if (d.atapi()) {
            atapiComplete();
        } else {
            phase = Phase.IDLE;
            status[unit] = DRDY | DSC;
        }
    }

    private int multipleBlock() {
        boolean multi = command == 0xc4 || command == 0x29 || command == 0xc5 || command == 0x39;
        return (multi ? multiple[unit] : 1) * IdeDrive.SECTOR;
    }

    private boolean writeDisk(BlockDevice image, long at, byte[] data) {
        return DmaEngine.io(image, true, at, ByteBuffer.wrap(data), log, "ide" + index);
    }

    private void flush(IdeDrive d) {
        phase = Phase.BUSY;
        status[unit] = BSY | DRDY;
        long gen = generation;
        BlockDevice image = d.image();
        executor.execute(() -> {
            boolean ok;
            try {
                if (image != null) {
                    image.flush();
                }
                ok = true;
            } catch (IOException | RuntimeException e) {
                log.accept("ide" + index + ": flush failed: " + e.getMessage());
                ok = false;
            }
            synchronized (this) {
                if (gen != generation) {
                    return;
                }
                if (ok) {
                    done();
                } else {
                    failIo(false, true);
                }
            }
            syncIrq();
        });
    }

    void pioIn(byte[] data) {
        System.arraycopy(data, 0, buffer, 0, data.length);
        bufPos = 0;
        bufLen = data.length;
        remaining = 0;
        phase = Phase.PIO_IN;
        status[unit] = DRDY | DSC | DRQ;
        raise();
    }

    static byte[] words(short[] w) {
        byte[] b = new byte[w.length * 2];
        for (int i = 0; i < w.length; i++) {
            b[2 * i] = (byte) w[i];
            b[2 * i + 1] = (byte) (w[i] >> 8);
        }
        return b;
    }

    private void done() {
        phase = Phase.IDLE;
        status[unit] = DRDY | DSC;
        raise();
    }

    void abort() {
        abortWith(0);
    }

    private void abortWith(int extra) {
        phase = Phase.IDLE;
        error[unit] = ABRT | extra;
        status[unit] = DRDY | ERR;
        raise();
    }

    /** A disk or memory error ends the command: ATA UNC/ABRT, ATAPI MEDIUM ERROR. */
    private void failIo(boolean atapi, boolean write) {
        phase = Phase.IDLE;
        if (atapi) {
            atapiCheck(3, 0x11); // MEDIUM ERROR, unrecovered read error
            return;
        }
        error[unit] = ABRT | (write ? 0 : UNC);
        status[unit] = DRDY | ERR;
        raise();
    }

    // ---- ATAPI ----

    void atapiComplete() {
        phase = Phase.IDLE;
        nsect[unit] = 0x03; // IO | CoD: status follows
        status[unit] = DRDY | DSC;
        raise();
    }

    void atapiCheck(int key, int asc) {
        sense[unit].key = key;
        sense[unit].asc = asc;
        phase = Phase.IDLE;
        error[unit] = key << 4 | (key == 0x0b ? ABRT : 0);
        nsect[unit] = 0x03;
        status[unit] = DRDY | ERR;
        raise();
    }

    /** Medium changes of a CD-ROM on this channel: see {@link MediumChange}. */
    BlockDevice changeMedium(int u, BlockDevice next, String medium) {
        BlockDevice old = MediumChange.change(this, u, next, medium);
        syncIrq();
        return old;
    }

    // ---- bus master (BAR4: 0 command, 2 status, 4 PRD table pointer) ----

    synchronized int bmRead(int reg, int size) {
        int v = 0;
        for (int i = 0; i < size && reg + i < 8; i++) {
            int r = reg + i;
            int b = switch (r) {
                case 0 -> bmCommand;
                case 2 -> (bmStatus & (BMS_ACTIVE | BMS_ERROR | BMS_INTR)) | bmCapable();
                case 4, 5, 6, 7 -> prdTable >>> (8 * (r - 4)) & 0xff;
                default -> 0;
            };
            v |= b << (8 * i);
        }
        return v;
    }

    private int bmCapable() {
        return (drives[0] != null ? 0x20 : 0) | (drives[1] != null ? 0x40 : 0) | (bmStatus & BMS_CAPABLE);
    }

    void bmWrite(int reg, int size, int value) {
        synchronized (this) {
            for (int i = 0; i < size && reg + i < 8; i++) {
                bmWriteByte(reg + i, value >>> (8 * i) & 0xff);
            }
        }
        syncIrq();
    }

    private void bmWriteByte(int r, int b) {
        if (r == 0) {
            int old = bmCommand;
            bmCommand = b & (BM_START | BM_TO_MEMORY);
            if ((bmCommand & BM_START) != 0 && (old & BM_START) == 0) {
                bmStatus |= BMS_ACTIVE;
                maybeStartDma();
            } else if ((bmCommand & BM_START) == 0 && (old & BM_START) != 0) {
                bmStatus &= ~BMS_ACTIVE;
            }
        } else if (r == 2) {
            bmStatusWrite(b);
        } else if (r >= 4) {
            int shift = 8 * (r - 4);
            prdTable = (prdTable & ~(0xff << shift)) | (b << shift);
            prdTable &= ~3;
        }
    }

    private void bmStatusWrite(int v) {
        bmStatus = (bmStatus & BMS_ACTIVE) | (bmStatus & ~v & (BMS_ERROR | BMS_INTR)) | (v & BMS_CAPABLE);
    }

    /** Runs the DMA when both the command waits for it and the guest started the engine. */
    void maybeStartDma() {
        if (phase != Phase.DMA_WAIT || (bmCommand & BM_START) == 0) {
            return;
        }
        phase = Phase.DMA_RUN;
        status[unit] = BSY | DRDY;
        IdeDrive d = drives[unit];
        boolean write = !d.atapi() && (command == 0xca || command == 0xcb || command == 0x35);
        DmaEngine.Job job = new DmaEngine.Job(generation, prdTable, write, d.image(), diskOffset, remaining,
                bufLen > 0 ? java.util.Arrays.copyOf(buffer, bufLen) : null, d.atapi());
        executor.execute(() -> {
            int result = DmaEngine.run(job, memory, ioBuffer, MAX_PRD, log, "ide" + index);
            finishDma(job, result);
        });
    }

    private void finishDma(DmaEngine.Job job, int result) {
        synchronized (this) {
            if (job.generation() != generation) {
                return;
            }
            bmStatus |= BMS_INTR;
            if (result != DmaEngine.OK_TABLE_LONGER) {
                bmStatus &= ~BMS_ACTIVE;
            }
            switch (result) {
                case DmaEngine.OK, DmaEngine.OK_TABLE_LONGER -> {
                    if (job.atapi()) {
                        atapiComplete();
                    } else {
                        done();
                    }
                }
                case DmaEngine.DISK_ERROR -> failIo(job.atapi(), job.write());
                default -> { // the guest's PRD table or addresses were wrong
                    bmStatus |= BMS_ERROR;
                    if (job.atapi()) {
                        atapiCheck(0x0b, 0); // ABORTED COMMAND
                    } else {
                        abort();
                    }
                }
            }
            remaining = 0;
            bufLen = 0;
        }
        syncIrq();
    }

    // ---- interrupt line ----

    /** Drives the line from the state: INTRQ pending and not masked by nIEN. Never under the channel lock. */
    void syncIrq() {
        synchronized (irqLock) {
            boolean level;
            synchronized (this) {
                level = irqPending && (control & CTL_NIEN) == 0;
            }
            if (level != lineLevel) {
                lineLevel = level;
                irqLine.accept(level);
            }
        }
    }

    /** INTRQ rises; the PIIX latches it in the bus-master status too (Linux's BMDMA handler looks there). */
    void raise() {
        irqPending = true;
        bmStatus |= BMS_INTR;
    }

    /** Lowers the line without touching the state (hand-over: the next owner raises what is pending). */
    void releaseLine() {
        synchronized (irqLock) {
            lineLevel = false;
            irqLine.accept(false);
        }
    }

    /** After a restore: the line follows the restored state. */
    void forceSync() {
        synchronized (irqLock) {
            lineLevel = !lineLevel;
        }
        syncIrq();
    }

    /** Work still on the executor (disk I/O, DMA) belongs to nobody any more. */
    synchronized void abandonInFlight() {
        if (phase == Phase.BUSY || phase == Phase.DMA_RUN) {
            generation++;
            if (drives[unit] != null && drives[unit].atapi()) {
                atapiCheck(0x0b, 0);
            } else {
                abort();
            }
            bmStatus = (bmStatus & ~BMS_ACTIVE) | BMS_INTR | BMS_ERROR;
        }
    }

    synchronized boolean inFlight() {
        return phase == Phase.BUSY || phase == Phase.DMA_RUN;
    }

    // ---- state record (ChannelRecord does the conversion) ----

    /** This channel's record; call with in-flight work finished ({@link #abandonInFlight} otherwise). */
    synchronized IdeState.Channel save() {
        return ChannelRecord.save(this);
    }

    void restore(IdeState.Channel c) {
        synchronized (this) {
            generation++;
            ChannelRecord.restore(this, c);
            if (drives[unit] == null && phase != Phase.IDLE) {
                phase = Phase.IDLE; // the drive of the transfer is not configured any more
            }
            maybeStartDma(); // a DMA the old instance had not started, with the engine already on
        }
        forceSync();
    }
}
