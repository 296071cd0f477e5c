package org.xenj.example.pcitestdev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

import org.junit.jupiter.api.Test;
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
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciSlot;

/** The example device against a platform stand-in built from the exported interfaces only. */
class PciTestDeviceTest {

    /** Records what the device asks of the platform; the clock and the executor are driven by the test. */
    static final class Platform implements HvmPlatform {
        final List<PciDevice> plugged = new ArrayList<>();
        final List<Boolean> intx = new ArrayList<>();
        final List<Runnable> executorQueue = new ArrayList<>();
        final List<long[]> timers = new ArrayList<>();
        final List<Runnable> timerCallbacks = new ArrayList<>();
        long now = 1_000_000;

        @Override
        public PciSlot plugPci(int device, int function, PciDevice pci) {
            plugged.add(pci);
            return new PciSlot() {
                @Override
                public int bdf() {
                    return 4 << 3;
                }

                @Override
                public void setIntx(boolean asserted) {
                    intx.add(asserted);
                }

                @Override
                public boolean busMaster() {
                    return false;
                }
            };
        }

        @Override
        public void unplugPci(PciSlot slot) {
            plugged.clear();
        }

        @Override
        public long nowNanos() {
            return now;
        }

        @Override
        public DeviceTimer newTimer(Runnable onExpiry) {
            long[] deadline = {Long.MAX_VALUE};
            timers.add(deadline);
            timerCallbacks.add(onExpiry);
            return new DeviceTimer() {
                @Override
                public void arm(long deadlineNanos) {
                    deadline[0] = deadlineNanos;
                }

                @Override
                public void cancel() {
                    deadline[0] = Long.MAX_VALUE;
                }
            };
        }

        /** Advances the clock and fires due timers, as the platform does at its timer service points. */
        void advance(long nanos) {
            now += nanos;
            for (int i = 0; i < timers.size(); i++) {
                if (timers.get(i)[0] <= now) {
                    timers.get(i)[0] = Long.MAX_VALUE;
                    timerCallbacks.get(i).run();
                }
            }
        }

        @Override
        public Executor deviceExecutor() {
            return executorQueue::add;
        }

        @Override
        public int domid() {
            return 1;
        }

        @Override
        public DomainConfig config() {
            return DomainConfig.builder("t").type(DomainType.HVM).build();
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
        public void setPciLinkRoute(int link, int isaIrq) {
        }

        @Override
        public void setIrq(int gsi, boolean level) {
        }

        @Override
        public GuestMemory memory() {
            return null;
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
        }
    }

    @Test
    void servesOnlyDomainsThatAskForIt() {
        PciTestDeviceModel model = new PciTestDeviceModel();
        assertTrue(model.supports(DomainConfig.builder("a").type(DomainType.HVM).raw(Map.of("pci_testdev", "1")).build()));
        assertFalse(model.supports(DomainConfig.builder("b").type(DomainType.HVM).build()));
        assertFalse(model.supports(DomainConfig.builder("c").type(DomainType.PV).raw(Map.of("pci_testdev", "1")).build()));
    }

    @Test
    void registersInterruptsTimerAndExecutorWork() {
        Platform platform = new Platform();
        DeviceModelInstance instance = new PciTestDeviceModel().attach(platform);
        PciDevice dev = platform.plugged.get(0);
        assertEquals(0x1b36, dev.identity().vendor());
        PciBar io = dev.bars().get(0);
        PciBar mem = dev.bars().get(1);
        io.io().ioWrite(0x00, 4, 0xcafe);
        assertEquals(0xcafe, mem.mmio().mmioRead(0x00, 4), "one register file behind both BARs");
        io.io().ioWrite(0x04, 4, 1);
        io.io().ioWrite(0x08, 4, 1);
        assertEquals(List.of(true, false), platform.intx);
        mem.mmio().mmioWrite(0x0c, 4, 50); // 50 us
        platform.advance(49_000);
        assertEquals(2, platform.intx.size(), "not yet");
        platform.advance(1_000);
        assertEquals(List.of(true, false, true), platform.intx);
        io.io().ioWrite(0x10, 4, 1);
        assertEquals(3, platform.intx.size(), "raised from the executor, not from the vCPU's write");
        platform.executorQueue.remove(0).run();
        assertEquals(4, platform.intx.size());
        assertEquals(3, io.io().ioRead(0x14, 4));
        instance.reset();
        assertEquals(0, io.io().ioRead(0x00, 4));
        instance.detach();
        assertTrue(platform.plugged.isEmpty());
    }
}
