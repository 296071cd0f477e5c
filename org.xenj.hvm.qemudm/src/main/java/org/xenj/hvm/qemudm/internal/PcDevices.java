package org.xenj.hvm.qemudm.internal;

import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.dom0.vswitch.api.VirtualSwitch;
import org.xenj.hvm.qemudm.internal.kbd.I8042;
import org.xenj.hvm.qemudm.internal.net.Nics;
import org.xenj.hvm.qemudm.internal.pci.I440fx;
import org.xenj.hvm.qemudm.internal.pci.Piix3;
import org.xenj.hvm.qemudm.internal.sysport.SystemControlPortA;
import org.xenj.hvm.qemudm.internal.uart.Uart16550;

/**
 * One domain's devices: COM1 (16550A at 0x3F8, IRQ4) as the domain console, the i440FX at
 * 00:00.0 and the PIIX3 at 00:01.0 on the platform's PCI bus, the 8042 at 0x60/0x64 and port 0x92;
 * and the emulated NICs of the domain's vif entries from 00:04.0 ({@link Nics}).
 */
public final class PcDevices implements DeviceModelInstance {

    static final int COM1 = 0x3f8;
    static final int COM1_IRQ = 4;

    private final HvmPlatform platform;
    private final Uart16550 com1;
    private final I440fx hostBridge = new I440fx();
    private final Piix3 isaBridge;
    private org.xenj.hypervisor.spi.pci.PciSlot hostSlot;
    private org.xenj.hypervisor.spi.pci.PciSlot isaSlot;
    private final I8042 kbc;
    private final SystemControlPortA port92;
    private volatile boolean attached;
    private Nics nics;

    private PcDevices(HvmPlatform platform) {
        this.platform = platform;
        this.com1 = new Uart16550(platform::consoleOutput, level -> platform.setIrq(COM1_IRQ, level != 0));
        this.isaBridge = new Piix3(platform::setPciLinkRoute);
        this.kbc = new I8042(platform::requestReset, platform::setIrq);
        this.port92 = new SystemControlPortA(platform::requestReset);
    }

    /** Attaches in the state a previous qemu-dm saved (hand-over on bundle update). */
    static PcDevices attach(HvmPlatform platform, PcDevicesState state) {
        return attach(platform, null, state);
    }

    static PcDevices attach(HvmPlatform platform, VirtualSwitch vswitch, PcDevicesState state) {
        PcDevices d = attach(platform, vswitch);
        d.restoreState(state);
        platform.log("qemu-dm: devices restored from the handed-over state");
        return d;
    }

    static PcDevices attach(HvmPlatform platform) {
        return attach(platform, (VirtualSwitch) null);
    }

    /** @param vswitch Dom0's virtual switch, or null when it is not running (NICs unconnected) */
    static PcDevices attach(HvmPlatform platform, VirtualSwitch vswitch) {
        PcDevices d = new PcDevices(platform);
        platform.mapIo(COM1, 8, d.com1);
        try {
            // The PCI bus (0xCF8-0xCFF) is the platform's; the two bridges are ours, on its bus.
            d.hostSlot = platform.plugPci(0, 0, d.hostBridge);
            d.isaSlot = platform.plugPci(1, 0, d.isaBridge);
            platform.mapIo(I8042.BASE, 1, d.kbc);
            platform.mapIo(I8042.BASE + 4, 1, new OffsetIo(d.kbc, 4));
            platform.mapIo(SystemControlPortA.PORT, 1, d.port92);
            d.nics = Nics.attach(platform, vswitch);
        } catch (RuntimeException e) {
            d.unmapAll();
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

    Nics nics() {
        return nics;
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
                port92.saveState(), nics.saveState());
    }

    /** Puts every device in {@code s} (the PIIX3 routes its PCI links to the platform again). */
    public void restoreState(PcDevicesState s) {
        com1.restoreState(s.com1());
        kbc.restoreState(s.kbc());
        hostBridge.restoreConfig(s.hostBridgeConfig());
        isaBridge.restoreConfig(s.isaBridgeConfig());
        port92.restoreState(s.port92());
        nics.restoreState(s.nics());
    }

    @Override
    public void reset() {
        com1.reset();
        hostBridge.reset();
        isaBridge.reset();
        kbc.reset();
        port92.resetState();
        nics.reset();
    }

    @Override
    public void detach() {
        attached = false;
        unmapAll();
        // leave the lines low: the next owner (a handed-over instance) raises what is pending
        platform.setIrq(COM1_IRQ, false);
        platform.setIrq(I8042.KBD_IRQ, false);
        platform.setIrq(I8042.AUX_IRQ, false);
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
