package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

/**
 * xl debug-keys: 'd' tells a blocked guest from a spinning one (registers, HLT, IF, the PIC and
 * PIT, the host timer), 'q' lists the domains, 'h' the keys; an unknown key is said so. Found
 * useful when a CI guest stopped printing and nothing showed whether it was halted or looping.
 */
class DebugKeysTest {

    @TempDir
    Path dir;

    /** An ELF32 image at 1 MiB: sti; l: hlt; jmp l. */
    private Path haltingImage() throws Exception {
        byte[] code = {(byte) 0xFB, (byte) 0xF4, (byte) 0xEB, (byte) 0xFD};
        ByteBuffer b = ByteBuffer.allocate(84 + code.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 1, 1, 1, 0}).put(new byte[8]);
        b.putShort((short) 2).putShort((short) 3).putInt(1).putInt(0x100000).putInt(52).putInt(0).putInt(0);
        b.putShort((short) 52).putShort((short) 32).putShort((short) 1).putShort((short) 40).putShort((short) 0).putShort((short) 0);
        b.putInt(1).putInt(84).putInt(0x100000).putInt(0x100000).putInt(code.length).putInt(code.length).putInt(5).putInt(16);
        b.put(code);
        Path f = dir.resolve("halt.elf");
        Files.write(f, b.array());
        return f;
    }

    /** An HVM domain waits for a device model; this one plugs nothing. */
    private static final class NoDevices implements DeviceModel {
        @Override
        public String name() {
            return "no-devices";
        }

        @Override
        public boolean supports(DomainConfig config) {
            return true;
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform) {
            return new DeviceModelInstance() {
                @Override
                public void reset() {
                }

                @Override
                public void detach() {
                }
            };
        }
    }

    @Test
    void dumpsRegistersPlatformAndDomains() throws Exception {
        try (TestCores.Fixture fx = TestCores.start(2)) {
            fx.plugins().addBuilder(new HvmGuestBuilder());
            fx.plugins().addDeviceModel(new NoDevices());
            Domain hvm = fx.core().create(DomainConfig.builder("halter").type(DomainType.HVM).memoryMiB(16)
                    .raw(Map.of("firmware_override", haltingImage().toString(), "xen_platform_pci", "0")).build());
            fx.core().create(TestCores.workload("spinner", "spin").build());
            assertTrue(TestCores.await(() -> fx.core().vcpus(hvm.id()).get(0).cpuTimeNanos() > 0, 10_000), "the guest never ran:\n" + String.join("\n", fx.core().dmesg()));
            Thread.sleep(100); // long enough to reach the HLT
            fx.core().debugKeys("dqhz");
            String log = String.join("\n", fx.core().dmesg());
            assertTrue(log.contains("'d' pressed -> dumping registers"), log);
            assertTrue(log.contains("*** Dumping d" + hvm.id() + "v0 (halter)"), log);
            assertTrue(log.matches("(?s).*EIP=001000(02|03) EFLAGS=\\S+ CPL=0 halted.*"), "halted at the HLT:\n" + log);
            assertTrue(log.contains("IF=1 interrupt pending=false"), log);
            assertTrue(log.contains("PIC master irr="), log);
            assertTrue(log.contains("PIT ch0 mode"), log);
            assertTrue(log.contains("(no register dump for this kind of vCPU)"), "the workload vCPU:\n" + log);
            assertTrue(log.contains("General information for domain " + hvm.id() + " (halter): HVM"), log);
            assertTrue(log.contains("key 'q' (ascii 71)"), log);
            assertTrue(log.contains("'z' (ascii 7a): no such debug key"), log);
        }
    }
}
