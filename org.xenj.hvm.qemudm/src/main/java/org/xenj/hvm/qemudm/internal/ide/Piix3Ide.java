package org.xenj.hvm.qemudm.internal.ide;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.hypervisor.spi.GuestMemory;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;

/**
 * The PIIX3's IDE function (8086:7010, class 01:01:80 — both channels in legacy mode, bus master
 * capable) at 00:01.1: the two channels at their fixed ports (primary 0x1F0-0x1F7 + 0x3F6, IRQ 14;
 * secondary 0x170-0x177 + 0x376, IRQ 15; the caller maps {@link #commandBlock} and
 * {@link #controlBlock} there) and the bus-master registers in BAR4 (16 ports: primary at 0,
 * secondary at 8). Device-specific configuration: IDETIM (0x40-0x43, decode enable set as the
 * BIOS leaves it — Linux's ata_piix checks bit 15 before probing a channel) and SIDETIM (0x44).
 */
public final class Piix3Ide implements PciDevice {

    public static final int PRIMARY_CMD = 0x1f0, PRIMARY_CTL = 0x3f6, SECONDARY_CMD = 0x170, SECONDARY_CTL = 0x376;
    public static final int PRIMARY_IRQ = 14, SECONDARY_IRQ = 15;

    private static final PciIdentity IDENTITY = PciIdentity.of(0x8086, 0x7010, 0x010180, 0x00);
    private static final byte[] TIMING_POWER_ON = {0, (byte) 0x80, 0, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    /** Writable bits of 0x40-0x4f: IDETIM (both channels), SIDETIM. */
    private static final byte[] TIMING_WRITABLE = {(byte) 0xff, (byte) 0xf3, (byte) 0xff, (byte) 0xf3, (byte) 0xff, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0};

    private final IdeChannel[] channels = new IdeChannel[2];
    private final IdeDrive[] drives = new IdeDrive[4];
    private final byte[] timing = TIMING_POWER_ON.clone();
    private final Executor executor;
    private final Consumer<String> log;
    private final List<PciBar> bars;

    /**
     * @param irq (ISA IRQ, level): the channels' INTRQ lines, 14 and 15
     */
    public Piix3Ide(List<IdeDrive> attached, GuestMemory memory, Executor executor, BiConsumer<Integer, Boolean> irq,
            Consumer<String> log) {
        this.executor = executor;
        this.log = log;
        channels[0] = new IdeChannel(0, memory, executor, level -> irq.accept(PRIMARY_IRQ, level), log);
        channels[1] = new IdeChannel(1, memory, executor, level -> irq.accept(SECONDARY_IRQ, level), log);
        for (IdeDrive d : attached) {
            if (drives[d.position()] != null) {
                throw new IllegalArgumentException("two disks at IDE position " + d.position() + ": " + drives[d.position()]
                        + " and " + d);
            }
            drives[d.position()] = d;
            channels[d.position() >> 1].attach(d);
        }
        IoHandler busMaster = new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                return channels[offset >> 3 & 1].bmRead(offset & 7, size);
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                channels[offset >> 3 & 1].bmWrite(offset & 7, size, value);
            }
        };
        java.util.ArrayList<PciBar> b = new java.util.ArrayList<>(java.util.Collections.nCopies(5, (PciBar) null));
        b.set(4, PciBar.io(16, busMaster));
        this.bars = java.util.Collections.unmodifiableList(b);
    }

    /** The 8 ports of channel {@code c}'s command block (data, error/features, ..., status/command). */
    public IoHandler commandBlock(int c) {
        IdeChannel ch = channels[c];
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                return ch.commandRead(offset, size);
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                ch.commandWrite(offset, size, value);
            }
        };
    }

    /** Channel {@code c}'s control block port (0x3F6 / 0x376): alternate status, device control. */
    public IoHandler controlBlock(int c) {
        IdeChannel ch = channels[c];
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                return ch.altStatus();
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                ch.controlWrite(value);
            }
        };
    }

    public IdeDrive drive(int position) {
        return drives[position];
    }

    // ---- PCI ----

    @Override
    public PciIdentity identity() {
        return IDENTITY;
    }

    @Override
    public List<PciBar> bars() {
        return bars;
    }

    @Override
    public synchronized int configRead(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            int at = offset + i - 0x40;
            v |= (at >= 0 && at < timing.length ? timing[at] & 0xff : 0) << (8 * i);
        }
        return v;
    }

    @Override
    public synchronized void configWrite(int offset, int size, int value) {
        for (int i = 0; i < size; i++) {
            int at = offset + i - 0x40;
            if (at >= 0 && at < timing.length) {
                int mask = TIMING_WRITABLE[at] & 0xff;
                timing[at] = (byte) ((timing[at] & ~mask) | (value >>> (8 * i) & mask));
            }
        }
    }

    /** Platform reset: timing registers, both channels and their drives to power-on. */
    @Override
    public void reset() {
        synchronized (this) {
            System.arraycopy(TIMING_POWER_ON, 0, timing, 0, timing.length);
        }
        channels[0].powerOn();
        channels[1].powerOn();
    }

    /**
     * Xen's emulated-disk unplug: a PVHVM guest's xen-blkfront takes over the images, so the hard
     * disks leave their channels at once and close their images on the executor, behind any disk
     * I/O still queued there (the vCPU thread that wrote the unplug port never waits). Then blkback
     * may open them for writing. CD-ROMs keep their media.
     */
    /** With a CD-ROM the controller stays on the bus after Xen's disk unplug (no PV driver replaces a CD). */
    @Override
    public boolean staysOnBusWhenUnplugged() {
        for (IdeDrive d : drives) {
            if (d != null && d.kind() == IdeDrive.Kind.CDROM) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void unplugged() {
        for (IdeDrive d : drives) {
            if (d != null && d.kind() == IdeDrive.Kind.DISK) {
                channels[d.position() >> 1].remove(d.position() & 1);
                executor.execute(() -> {
                    closeQuietly(d);
                    log.accept("ide: " + d.name() + " unplugged by the guest; image closed");
                });
            }
        }
    }

    /**
     * Another medium in the CD-ROM at {@code position} ({@code next} null: ejected), as xl's
     * {@code cd-insert}/{@code cd-eject}: the guest sees the change as a real drive reports it
     * ({@link IdeChannel#changeMedium}); the old image closes on the executor, behind the reads
     * already queued on it. {@code medium} is what the state record carries ("" or {@code raw:/path}).
     */
    public void changeMedium(int position, BlockDevice next, String medium) {
        IdeDrive d = position >= 0 && position < 4 ? drives[position] : null;
        if (d == null || d.kind() != IdeDrive.Kind.CDROM) {
            throw new IllegalArgumentException("no CD-ROM at IDE position " + position);
        }
        BlockDevice old = channels[position >> 1].changeMedium(position & 1, next, medium);
        log.accept("ide: " + d.name() + ": " + (next == null ? "medium ejected" : "medium " + medium + " inserted ("
                + next.size() / IdeDrive.CD_SECTOR + " CD sectors)"));
        if (old != null) {
            executor.execute(() -> closeQuietly(old, d.name()));
        }
    }

    // ---- hand-over ----

    /**
     * Lets disk I/O and DMA already handed to the executor finish (the executor runs tasks in
     * order, so a marker queued now runs after them); what is still running after
     * {@code millis} is aborted with an error status the guest's driver retries.
     */
    public boolean quiesce() {
        if (!channels[0].inFlight() && !channels[1].inFlight()) {
            return true;
        }
        boolean ok = drainExecutor();
        if (!ok) {
            log.accept("ide: disk I/O did not finish in 5 s; aborted with an error status");
        }
        channels[0].abandonInFlight();
        channels[1].abandonInFlight();
        return ok;
    }

    /** The record of every guest-visible bit; quiesces first. */
    public IdeState saveState() {
        quiesce();
        byte[] t;
        synchronized (this) {
            t = timing.clone();
        }
        return new IdeState(t, channels[0].save(), channels[1].save());
    }

    public void restoreState(IdeState s) {
        byte[] t = s.timing();
        synchronized (this) {
            for (int i = 0; i < timing.length; i++) {
                int mask = TIMING_WRITABLE[i] & 0xff;
                timing[i] = (byte) ((TIMING_POWER_ON[i] & ~mask) | (t[i] & mask));
            }
        }
        channels[0].restore(s.primary());
        channels[1].restore(s.secondary());
    }

    /** Opens a medium a state record names, read-only. */
    @FunctionalInterface
    public interface MediumOpener {
        BlockDevice open(ImageFormat format, String path) throws IOException;
    }

    /**
     * {@link #restoreState} and then the media the record carries: a CD-ROM whose recorded medium
     * differs from what this instance opened from the configuration (a {@code cd-insert} or
     * {@code cd-eject} before the hand-over) gets the recorded one, with the guest's pending sense
     * and media event as recorded. A recorded image that no longer opens leaves the drive empty and
     * the guest is told of a removal.
     */
    public void restoreState(IdeState s, MediumOpener opener) {
        restoreState(s);
        IdeState.Drive[] recorded = {s.primary().master(), s.primary().slave(), s.secondary().master(), s.secondary().slave()};
        for (int p = 0; p < 4; p++) {
            IdeDrive d = drives[p];
            String want = recorded[p].medium();
            if (d == null || d.kind() != IdeDrive.Kind.CDROM || want == null || want.equals(d.medium())) {
                continue;
            }
            BlockDevice next = null;
            if (!want.isEmpty()) {
                int colon = want.indexOf(':');
                ImageFormat format = want.startsWith("qcow2:") ? ImageFormat.QCOW2 : ImageFormat.RAW;
                try {
                    next = opener.open(format, want.substring(colon + 1));
                } catch (IOException | RuntimeException e) {
                    log.accept("ide: " + d.name() + ": the handed-over medium " + want + " does not open (" + e.getMessage()
                            + "): the drive is empty");
                    changeMedium(p, null, "");
                    continue;
                }
            }
            BlockDevice old = MediumChange.restore(channels[p >> 1], p & 1, next, want);
            log.accept("ide: " + d.name() + ": medium " + (want.isEmpty() ? "(none)" : want) + " as handed over");
            if (old != null) {
                closeQuietly(old, d.name());
            }
        }
    }

    /** True once every task queued on the device executor before now has run (bounded: 5 s). */
    private boolean drainExecutor() {
        CountDownLatch drained = new CountDownLatch(1);
        try {
            executor.execute(drained::countDown);
            return drained.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (RuntimeException e) { // the executor is gone
            return false;
        }
    }

    /** Detach: in-flight work abandoned, lines low for the next owner, every image closed. */
    public void close() {
        quiesce();
        // a detach unplugs the PCI function first, whose unplugged() queued the disks' closes on the
        // executor: they finish here, so the next owner (a restore, a hand-over) can open the images
        drainExecutor();
        channels[0].releaseLine();
        channels[1].releaseLine();
        for (IdeDrive d : drives) {
            if (d != null) {
                closeQuietly(d);
            }
        }
    }

    private void closeQuietly(BlockDevice b, String name) {
        try {
            b.close();
        } catch (IOException e) {
            log.accept("ide: closing " + name + "'s old medium failed: " + e.getMessage());
        }
    }

    private void closeQuietly(IdeDrive d) {
        try {
            d.close();
        } catch (IOException e) {
            log.accept("ide: closing " + d.name() + " failed: " + e.getMessage());
        }
    }
}
