package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.spi.ConsoleInput;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.DeviceTimer;
import org.xenj.hypervisor.spi.GuestMemory;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciSlot;
import org.xenj.hvm.qemudm.internal.net.TestBus;
import org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139;

/**
 * qemu-dm with two NICs on a real switch, handed over as DeviceModelHandOver does it (save with the
 * vCPUs stopped, detach, attach the next instance with the record): the new NICs have the old ones'
 * registers, take the switch ports again, and a frame after the hand-over continues the same ring.
 */
class NicHandOverTest {

    static final byte[] PEER = TestBus.mac(0x00, 0x16, 0x3e, 0x77, 0x77, 0x77);

    /** A platform stand-in built from the exported interfaces: RAM, a real executor thread, PCI slots. */
    static final class Platform implements HvmPlatform {
        final TestBus ram = new TestBus(1 << 20);
        final List<PciDevice> plugged = new CopyOnWriteArrayList<>();
        final List<String> log = new CopyOnWriteArrayList<>();
        final ExecutorService executor = Executors.newSingleThreadExecutor();
        final DomainConfig config;
        volatile boolean intx;
        /** Bit per PCI base class the "guest" unplugged through the Xen platform device. */
        volatile int unpluggedClasses;

        Platform(DomainConfig config) {
            this.config = config;
        }

        void drain() throws Exception {
            executor.submit(() -> { }).get(5, TimeUnit.SECONDS);
        }

        @Override
        public int domid() {
            return 7;
        }

        @Override
        public DomainConfig config() {
            return config;
        }

        @Override
        public void mapIo(int base, int count, IoHandler handler) {
        }

        @Override
        public void unmapIo(int base, int count) {
        }

        @Override
        public void mapMmio(long base, long size, MmioHandler handler) {
        }

        @Override
        public void unmapMmio(long base, long size) {
        }

        @Override
        public PciSlot plugPci(int device, int function, PciDevice pci) {
            plugged.add(pci);
            int bdf = device << 3 | function;
            return new PciSlot() {
                @Override
                public int bdf() {
                    return bdf;
                }

                @Override
                public void setIntx(boolean asserted) {
                    if (pci instanceof Rtl8139) {
                        intx = asserted;
                    }
                }

                @Override
                public boolean busMaster() {
                    return true;
                }
            };
        }

        @Override
        public void unplugPci(PciSlot slot) {
        }

        @Override
        public boolean emulatedClassUnplugged(int pciBaseClass) {
            return (unpluggedClasses & 1 << pciBaseClass) != 0;
        }

        @Override
        public void setPciLinkRoute(int link, int isaIrq) {
        }

        @Override
        public void setIrq(int gsi, boolean level) {
        }

        @Override
        public GuestMemory memory() {
            return ram.ram;
        }

        @Override
        public long nowNanos() {
            return System.nanoTime();
        }

        @Override
        public DeviceTimer newTimer(Runnable onExpiry) {
            return DeviceTimer.inert();
        }

        @Override
        public java.util.concurrent.Executor deviceExecutor() {
            return executor;
        }

        @Override
        public void consoleOutput(byte[] data, int off, int len) {
        }

        @Override
        public void setConsoleInput(ConsoleInput input) {
        }

        @Override
        public void requestReset() {
        }

        @Override
        public void requestShutdown(ShutdownReason reason) {
        }

        @Override
        public void log(String message) {
            log.add(message);
        }
    }

    @Test
    void nicsSurviveTheHandOver() throws Exception {
        SwitchService vswitch = new SwitchService();
        Bridge br = vswitch.bridge("xenbr0");
        ExecutorService peerThread = Executors.newSingleThreadExecutor();
        ArrayDeque<byte[]> atPeer = new ArrayDeque<>();
        Port peer = br.attach("peer", peerThread, (f, len) -> {
            synchronized (atPeer) {
                atPeer.add(java.util.Arrays.copyOf(f, len));
            }
        });
        DomainConfig cfg = DomainConfig.builder("ho").type(DomainType.HVM)
                .vifs(List.of("model=rtl8139,mac=00:16:3e:00:00:11", "model=ne2k_pci,mac=00:16:3e:00:00:12,bridge=xenbr0")).build();
        Platform p = new Platform(cfg);
        try {
            QemuDeviceModel model = new QemuDeviceModel(vswitch);
            DeviceModelInstance first = model.attach(p);
            Rtl8139 rtl = (Rtl8139) p.plugged.stream().filter(d -> d instanceof Rtl8139).findFirst().orElseThrow();
            assertTrue(p.plugged.stream().anyMatch(d -> d instanceof Ne2000), "the ne2k_pci entry made an NE2000");
            assertEquals(3, br.ports().size(), "two NIC ports and the peer");
            // 8139too's open: ring at 0x10000 (32 KiB, no wrap), RX/TX on, broadcast + own address
            rtl.write(0x37, 1, 0x10);
            rtl.write(0x30, 4, 0x10000);
            rtl.write(0x37, 1, 0x0c);
            rtl.write(0x44, 4, 0x1000 | 0x80 | 0x0a);
            rtl.write(0x3c, 2, 0xc07f);
            byte[] mac = rtl.mac();
            byte[] f1 = TestBus.frame(mac, PEER, 300, 1);
            peer.send(f1, f1.length);
            waitFor(() -> p.intx, "the first frame interrupts");
            int cbrBefore = rtl.read(0x3a, 2);
            assertEquals((f1.length + 8 + 3) & ~3, cbrBefore);

            // the hand-over: vCPUs stopped, record, detach, the next qemu-dm attaches with it
            p.drain();
            byte[] record = first.saveState();
            first.detach();
            assertFalse(p.intx, "the old instance leaves the line low");
            assertEquals(1, br.ports().size(), "the old ports are closed");
            p.plugged.clear();
            DeviceModelInstance second = model.attach(p, record);
            Rtl8139 rtl2 = (Rtl8139) p.plugged.stream().filter(d -> d instanceof Rtl8139).findFirst().orElseThrow();
            assertTrue(rtl2 != rtl);
            assertTrue(p.intx, "the new instance raises what was pending");
            assertEquals(cbrBefore, rtl2.read(0x3a, 2), "CBR");
            assertEquals(rtl.read(0x44, 4), rtl2.read(0x44, 4), "RCR");
            assertArrayEquals(mac, rtl2.mac());
            assertEquals(3, br.ports().size(), "the new NICs joined the bridge");
            byte[] f2 = TestBus.frame(mac, PEER, 200, 2);
            peer.send(f2, f2.length);
            waitFor(() -> rtl2.read(0x3a, 2) != cbrBefore, "the second frame lands");
            int h2 = p.ram.ram.read32(0x10000 + cbrBefore);
            assertEquals(f2.length + 4, h2 >>> 16, "the second frame follows the first in the same ring");
            byte[] got = new byte[f2.length];
            p.ram.ram.read(0x10000 + cbrBefore + 4, got, 0, got.length);
            assertArrayEquals(f2, got);
            // and the guest's transmit reaches the peer through the new port
            p.ram.ram.write(0x40000, f1, 0, f1.length);
            byte[] out = TestBus.frame(PEER, mac, 100, 3);
            p.ram.ram.write(0x40000, out, 0, out.length);
            rtl2.write(0x20, 4, 0x40000);
            rtl2.write(0x10, 4, out.length);
            waitFor(() -> {
                synchronized (atPeer) {
                    return atPeer.stream().anyMatch(b -> b.length == out.length && java.util.Arrays.equals(b, out));
                }
            }, "the transmitted frame reaches the peer");
            synchronized (atPeer) {
                // a hand-over stays on this host's ports: no self-announce (that is for a migration or restore)
                assertFalse(atPeer.stream().anyMatch(b -> b.length >= 14 && (b[12] & 0xff) == 0x80 && (b[13] & 0xff) == 0x35),
                        "RARP frames after a hand-over");
            }
            second.detach();
        } finally {
            p.executor.shutdownNow();
            peerThread.shutdownNow();
            vswitch.close();
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        long end = System.currentTimeMillis() + 5000;
        while (!c.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("timed out: " + what);
            }
            Thread.sleep(5);
        }
    }
}
