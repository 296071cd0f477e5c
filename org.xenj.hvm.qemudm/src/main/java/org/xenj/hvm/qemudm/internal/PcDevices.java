package org.xenj.hvm.qemudm.internal;

import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.vswitch.api.VirtualSwitch;
import org.xenj.hvm.qemudm.internal.debugexit.IsaDebugExit;
import org.xenj.hvm.qemudm.internal.ide.IdeDisks;
import org.xenj.hvm.qemudm.internal.ide.IdeDrive;
import org.xenj.hvm.qemudm.internal.ide.IdeState;
import org.xenj.hvm.qemudm.internal.ide.Piix3Ide;
import org.xenj.hvm.qemudm.internal.kbd.I8042;
import org.xenj.hvm.qemudm.internal.net.Nics;
import org.xenj.hvm.qemudm.internal.pci.I440fx;
import org.xenj.hvm.qemudm.internal.pci.Piix3;
import org.xenj.hvm.qemudm.internal.sysport.SystemControlPortA;
import org.xenj.hvm.qemudm.internal.uart.Uart16550;
import org.xenj.hvm.qemudm.internal.vga.StdVga;
import org.xenj.hvm.qemudm.internal.vga.StdVgaState;
import org.xenj.hvm.qemudm.internal.vga.VgaConfig;
import org.xenj.hvm.qemudm.internal.vga.VgaDisplay;

/**
 * One domain's devices: COM1 (16550A at 0x3F8, IRQ4) as the domain console, the i440FX at
 * 00:00.0 and the PIIX3 at 00:01.0 on the platform's PCI bus, the 8042 at 0x60/0x64 and port 0x92;
 * the emulated NICs of the domain's vif entries from 00:04.0 ({@link Nics}); and when the domain has
 * IDE disks, the PIIX3's IDE function at 00:01.1 with its legacy ports.
 */
public final class PcDevices implements DeviceModelInstance {

    static final int COM1 = 0x3f8;
    static final int COM1_IRQ = 4;

    private final HvmPlatform platform;
    private final Uart16550 com1;
    private final I440fx hostBridge;
    /** QEMU's firmware configuration device, for a domain that boots firmware (no kernel=); else null. */
    private org.xenj.hvm.qemudm.internal.fwcfg.FwCfg fwCfg;
    private final Piix3 isaBridge;
    private org.xenj.hypervisor.spi.pci.PciSlot hostSlot;
    private org.xenj.hypervisor.spi.pci.PciSlot isaSlot;
    private final I8042 kbc;
    private final SystemControlPortA port92;
    private Piix3Ide ide;
    private org.xenj.hypervisor.spi.pci.PciSlot ideSlot;
    private volatile boolean attached;
    private Nics nics;
    /** The block layer the IDE drives were opened with (medium changes open through it too); null without one. */
    private BlockImages images;
    private volatile Runnable onDetach;
    /** The isa-debug-exit base port, or -1 when {@code debug_exit=} is off. */
    private int debugExitPort = -1;
    /** The standard VGA at 00:02.0 when the domain has one (see {@link VgaConfig}), else null. */
    private StdVga vga;
    private org.xenj.hypervisor.spi.pci.PciSlot vgaSlot;
    private boolean vgaWindowMapped;
    /** Where the VGA BIOS comes from (tests point elsewhere). */
    static volatile java.nio.file.Path vgaBiosPath = VgaConfig.DEFAULT_VGABIOS;

    private PcDevices(HvmPlatform platform) {
        this.platform = platform;
        this.com1 = new Uart16550(platform::consoleOutput, level -> platform.setIrq(COM1_IRQ, level != 0));
        this.isaBridge = new Piix3(platform::setPciLinkRoute);
        this.hostBridge = firmwareBoot(platform.config()) ? new I440fx(platform::setShadowRamWritable) : new I440fx();
        this.kbc = new I8042(platform::requestReset, platform::setIrq);
        this.port92 = new SystemControlPortA(platform::requestReset);
    }

    /** Attaches in the state a previous qemu-dm saved (hand-over on bundle update). */
    static PcDevices attach(HvmPlatform platform, PcDevicesState state) {
        return attach(platform, null, null, state);
    }

    static PcDevices attach(HvmPlatform platform, BlockImages images, VirtualSwitch vswitch, PcDevicesState state) {
        PcDevices d = attach(platform, images, vswitch);
        d.restoreState(state);
        platform.log("qemu-dm: devices restored from the handed-over state");
        return d;
    }

    /** PCI base class of mass storage, as the Xen platform device's unplug reports it. */
    static final int PCI_CLASS_STORAGE = 0x01;

    static PcDevices attach(HvmPlatform platform) {
        return attach(platform, null, null);
    }

    /**
     * @param images the block layer, or null when it is not running (then no IDE disks)
     * @param vswitch Dom0's virtual switch, or null when it is not running (NICs unconnected)
     */
    static PcDevices attach(HvmPlatform platform, BlockImages images, VirtualSwitch vswitch) {
        PcDevices d = new PcDevices(platform);
        platform.mapIo(COM1, 8, d.com1);
        try {
            // The PCI bus (0xCF8-0xCFF) is the platform's; the two bridges are ours, on its bus.
            d.hostSlot = platform.plugPci(0, 0, d.hostBridge);
            d.isaSlot = platform.plugPci(1, 0, d.isaBridge);
            platform.mapIo(I8042.BASE, 1, d.kbc);
            platform.mapIo(I8042.BASE + 4, 1, new OffsetIo(d.kbc, 4));
            platform.mapIo(SystemControlPortA.PORT, 1, d.port92);
            d.attachDebugExit();
            d.attachVga();
            d.nics = Nics.attach(platform, vswitch);
            d.attachIde(images);
            d.attachFwCfg();
        } catch (RuntimeException e) {
            d.unmapAll();
            if (d.ide != null) {
                d.ide.close();
            }
            throw e;
        }
        platform.setConsoleInput(data -> {
            if (d.attached) {
                d.com1.receive(data);
            }
        });
        d.attached = true;
        platform.log("qemu-dm: COM1 16550A @0x3f8 irq 4, PCI 00:00.0 i440FX, 00:01.0 PIIX3, i8042, port 0x92");
        return d;
    }

    private void attachDebugExit() {
        int port = IsaDebugExit.basePort(platform.config().raw().get(IsaDebugExit.CONFIG_KEY));
        if (port >= 0) {
            platform.mapIo(port, IsaDebugExit.PORTS, new IsaDebugExit(platform::requestExit));
            debugExitPort = port;
            platform.log(String.format("qemu-dm: isa-debug-exit at 0x%x-0x%x (a write of v ends the domain with exit code v*2+1)",
                    port, port + IsaDebugExit.PORTS - 1));
        }
    }

    Nics nics() {
        return nics;
    }

    /** The stdvga at 00:02.0 (the slot Xen's qemu gives the VGA), its ports and the 0xA0000 window. */
    private void attachVga() {
        if (!VgaConfig.wantsStdVga(platform.config().raw(), platform::log)) {
            return;
        }
        StdVga v = new StdVga(VgaConfig.loadVgaBios(vgaBiosPath, platform::log));
        vga = v;
        platform.mapIo(StdVga.VGA_PORTS, StdVga.VGA_PORT_COUNT, v.vgaPorts());
        platform.mapIo(StdVga.VBE_PORTS, StdVga.VBE_PORT_COUNT, v.vbePorts());
        platform.mapMmio(StdVga.WINDOW, StdVga.WINDOW_SIZE, v.legacyWindow());
        vgaWindowMapped = true;
        vgaSlot = platform.plugPci(2, 0, v);
        platform.log("qemu-dm: PCI 00:02.0 stdvga 1234:1111 (16 MiB LFB in BAR0, MMIO BAR2), ports 0x3b0-0x3df,"
                + " 0x1ce-0x1cf, window 0xa0000-0xbffff" + (v.optionRom() == null ? ", no VGA BIOS" : ", VGA BIOS "
                + v.optionRom().length + " bytes"));
    }

    /** The stdvga, or null when the domain has no display. */
    StdVga vga() {
        return vga;
    }

    private VgaDisplay display;

    /** The stdvga as a console display (picture, keyboard, mouse), or null without one. */
    synchronized VgaDisplay display() {
        if (vga == null) {
            return null;
        }
        if (display == null) {
            display = newDisplay();
        }
        return display;
    }

    private VgaDisplay newDisplay() {
        return new VgaDisplay(platform.domid(), platform.config().name(), platform.config().raw(), vga,
                new VgaDisplay.Ps2() {
                    @Override
                    public void key(int code, boolean down) {
                        if (attached) {
                            kbc.keyInput(code, down);
                        }
                    }

                    @Override
                    public void pointer(int dx, int dy, int buttons) {
                        if (attached) {
                            kbc.pointerInput(dx, dy, buttons);
                        }
                    }
                });
    }

    /** Whether the domain starts firmware at the reset vector (no {@code kernel=}, no {@code firmware_override=}). */
    static boolean firmwareBoot(org.xenj.hypervisor.api.DomainConfig config) {
        String fw = config.raw().get("firmware_override");
        return (config.kernel() == null || config.kernel().isBlank()) && (fw == null || fw.isBlank());
    }

    /** fw_cfg at 0x510/0x511 for firmware-booted domains, after the IDE drives (the boot order names them). */
    private void attachFwCfg() {
        if (!firmwareBoot(platform.config())) {
            return;
        }
        java.util.List<org.xenj.hvm.qemudm.internal.fwcfg.FirmwareConfig.IdeDrive> drives = new java.util.ArrayList<>();
        for (int pos = 0; ide != null && pos < 4; pos++) {
            IdeDrive drive = ide.drive(pos);
            if (drive != null) {
                drives.add(new org.xenj.hvm.qemudm.internal.fwcfg.FirmwareConfig.IdeDrive(pos / 2, pos % 2,
                        drive.kind() == IdeDrive.Kind.CDROM));
            }
        }
        fwCfg = new org.xenj.hvm.qemudm.internal.fwcfg.FwCfg(org.xenj.hvm.qemudm.internal.fwcfg.FirmwareConfig.forDomain(
                platform.config().raw(), platform.config().vcpus(), platform.memory(), drives));
        platform.mapIo(org.xenj.hvm.qemudm.internal.fwcfg.FwCfg.PORT, org.xenj.hvm.qemudm.internal.fwcfg.FwCfg.PORTS, fwCfg);
        platform.log("qemu-dm: fw_cfg at 0x510/0x511 (" + drives.size() + " IDE drive(s) in the boot order, boot="
                + platform.config().raw().getOrDefault("boot", "cd") + ")");
    }

    /** The PIIX3 IDE function at 00:01.1 with the domain's hda..hdd, if it has any. */
    private void attachIde(BlockImages images) {
        this.images = images;
        java.util.List<String> ideSpecs = platform.config().disks().stream()
                .filter(s -> s.matches(".*\\b(hd|sd|xvd)[a-d]\\b.*")).toList();
        if (ideSpecs.isEmpty()) {
            return;
        }
        java.util.List<String> specs = platform.config().disks();
        if (platform.emulatedClassUnplugged(PCI_CLASS_STORAGE)) {
            // a hand-over after the PVHVM guest's unplug: blkback serves the hard disks' images now;
            // the CD-ROMs (which no PV driver replaces) stay on the IDE controller, as on Xen
            specs = IdeDisks.cdromsOnly(specs);
            platform.log("qemu-dm: the guest unplugged its emulated disks: IDE keeps " + specs.size() + " CD-ROM(s) only");
            if (specs.isEmpty()) {
                return;
            }
        }
        if (images == null) {
            platform.log("qemu-dm: the block layer (org.xenj.dom0.block) is not running: no IDE disks for "
                    + platform.config().disks());
            return;
        }
        java.util.List<IdeDrive> drives = IdeDisks.open(specs, images, platform::log);
        if (drives.isEmpty()) {
            return;
        }
        ide = new Piix3Ide(drives, platform.memory(), platform.deviceExecutor(), platform::setIrq, platform::log);
        platform.mapIo(Piix3Ide.PRIMARY_CMD, 8, ide.commandBlock(0));
        platform.mapIo(Piix3Ide.PRIMARY_CTL, 1, ide.controlBlock(0));
        platform.mapIo(Piix3Ide.SECONDARY_CMD, 8, ide.commandBlock(1));
        platform.mapIo(Piix3Ide.SECONDARY_CTL, 1, ide.controlBlock(1));
        ideSlot = platform.plugPci(1, 1, ide);
        platform.log("qemu-dm: PCI 00:01.1 PIIX3 IDE, ports 0x1f0/0x3f6 irq 14, 0x170/0x376 irq 15");
    }

    Piix3Ide ide() {
        return ide;
    }

    /** Called once when this instance detaches (qemu-dm forgets the domain). */
    void onDetach(Runnable r) {
        onDetach = r;
    }

    /** Whether this domain has an IDE CD-ROM named {@code vdev}. */
    boolean hasCdrom(String vdev) {
        int pos = IdeDisks.position(vdev);
        Piix3Ide i = ide;
        return pos >= 0 && i != null && i.drive(pos) != null && i.drive(pos).kind() == IdeDrive.Kind.CDROM
                && i.drive(pos).name().equals(vdev);
    }

    /**
     * xl's cd-insert/cd-eject on the IDE CD-ROM {@code medium.vdev()}: the new image opened
     * read-only through the block layer (an image open for writing elsewhere is refused there —
     * one writer), then swapped in; an empty target ejects.
     */
    synchronized void changeMedium(org.xenj.dom0.block.api.DiskSpec medium) {
        if (!attached || !hasCdrom(medium.vdev())) {
            throw new IllegalArgumentException("d" + platform.domid() + " has no IDE CD-ROM " + medium.vdev());
        }
        org.xenj.dom0.block.api.BlockDevice next = null;
        if (!medium.target().isEmpty()) {
            if (images == null) {
                throw new IllegalStateException("the block layer (org.xenj.dom0.block) is not running");
            }
            try {
                next = images.open(java.nio.file.Path.of(medium.target()), medium.format(), true);
            } catch (java.io.IOException | RuntimeException e) {
                throw new IllegalStateException("cannot open " + medium.target() + ": " + e.getMessage(), e);
            }
        }
        ide.changeMedium(IdeDisks.position(medium.vdev()), next, IdeDrive.medium(medium.target(), medium.format()));
    }

    Uart16550 com1() {
        return com1;
    }

    /** The hand-over: every device's record as bytes, taken with the domain's vCPUs stopped. */
    @Override
    public byte[] saveState() {
        return stateRecord().toBytes();
    }

    /** Every device's state record; take it with the domain's vCPUs paused. */
    public PcDevicesState stateRecord() {
        return new PcDevicesState(com1.saveState(), kbc.saveState(), hostBridge.saveConfig(), isaBridge.saveConfig(),
                port92.saveState(), nics.saveState(), ide == null ? null : ide.saveState(),
                vga == null ? null : vga.saveState());
    }

    /** Puts every device in {@code s} (the PIIX3 routes its PCI links to the platform again). */
    public void restoreState(PcDevicesState s) {
        com1.restoreState(s.com1());
        kbc.restoreState(s.kbc());
        hostBridge.restoreConfig(s.hostBridgeConfig());
        isaBridge.restoreConfig(s.isaBridgeConfig());
        port92.restoreState(s.port92());
        nics.restoreState(s.nics());
        StdVgaState vgaState = s.vga();
        if (vga != null && vgaState != null) {
            vga.restoreState(vgaState);
        } else if (vga != null || vgaState != null) {
            platform.log("qemu-dm: the display changed across the hand-over; the VGA starts at power-on");
        }
        IdeState ideState = s.ide();
        if (ide != null && ideState != null) {
            BlockImages opener = images;
            ide.restoreState(ideState, opener == null ? null
                    : (format, path) -> opener.open(java.nio.file.Path.of(path), format, true));
        } else if ((ide != null || ideState != null) && !platform.emulatedClassUnplugged(PCI_CLASS_STORAGE)) {
            platform.log("qemu-dm: the IDE disks changed across the hand-over; IDE starts at power-on");
        }
    }

    /** Arrived here by migration or restored: the NICs announce the guest's MACs (QEMU's self-announce). */
    @Override
    public void resumedHere() {
        Nics n = nics;
        if (n != null) {
            n.announce();
        }
    }

    @Override
    public void reset() {
        com1.reset();
        hostBridge.reset();
        isaBridge.reset();
        kbc.reset();
        port92.resetState();
        nics.reset();
        if (ide != null) {
            ide.reset();
        }
        if (vga != null) {
            vga.reset();
        }
    }

    @Override
    public void detach() {
        synchronized (this) { // a medium change in progress finishes first; none starts after
            attached = false;
        }
        Runnable gone = onDetach;
        if (gone != null) {
            gone.run();
        }
        unmapAll();
        // leave the lines low: the next owner (a handed-over instance) raises what is pending
        platform.setIrq(COM1_IRQ, false);
        platform.setIrq(I8042.KBD_IRQ, false);
        platform.setIrq(I8042.AUX_IRQ, false);
        if (ide != null) {
            ide.close(); // in-flight I/O finished or aborted, lines low, images closed for the next owner
        }
    }

    private void unmapAll() {
        if (nics != null) {
            nics.detach(); // ports closed, off the bus, lines low for the next owner
        }
        platform.unmapIo(COM1, 8);
        if (hostSlot != null) {
            platform.unplugPci(hostSlot);
        }
        if (isaSlot != null) {
            platform.unplugPci(isaSlot);
        }
        platform.unmapIo(I8042.BASE, 1);
        platform.unmapIo(I8042.BASE + 4, 1);
        platform.unmapIo(SystemControlPortA.PORT, 1);
        if (debugExitPort >= 0) {
            platform.unmapIo(debugExitPort, IsaDebugExit.PORTS);
        }
        if (fwCfg != null) {
            platform.unmapIo(org.xenj.hvm.qemudm.internal.fwcfg.FwCfg.PORT, org.xenj.hvm.qemudm.internal.fwcfg.FwCfg.PORTS);
        }
        if (ideSlot != null) {
            platform.unplugPci(ideSlot);
        }
        if (vga != null) {
            if (vgaSlot != null) {
                platform.unplugPci(vgaSlot);
            }
            platform.unmapIo(StdVga.VGA_PORTS, StdVga.VGA_PORT_COUNT);
            platform.unmapIo(StdVga.VBE_PORTS, StdVga.VBE_PORT_COUNT);
            if (vgaWindowMapped) {
                platform.unmapMmio(StdVga.WINDOW, StdVga.WINDOW_SIZE);
            }
        }
        if (ide != null) {
            platform.unmapIo(Piix3Ide.PRIMARY_CMD, 8);
            platform.unmapIo(Piix3Ide.PRIMARY_CTL, 1);
            platform.unmapIo(Piix3Ide.SECONDARY_CMD, 8);
            platform.unmapIo(Piix3Ide.SECONDARY_CTL, 1);
        }
    }

    /** Presents a handler's registers from a fixed offset (0x64 is offset 4 of the 8042, but 0x61 sits between). */
    private record OffsetIo(org.xenj.hypervisor.spi.IoHandler target, int offset) implements org.xenj.hypervisor.spi.IoHandler {
        @Override
        public int ioRead(int off, int size) {
            return target.ioRead(offset + off, size);
        }

        @Override
        public void ioWrite(int off, int size, int value) {
            target.ioWrite(offset + off, size, value);
        }
    }
}
