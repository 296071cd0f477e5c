package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.internal.testsupport.NullDeviceModel;
import org.xenj.hypervisor.internal.testsupport.TestCores;

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
        return FlatElf.write(dir.resolve("halt.elf"), new byte[] {(byte) 0xFB, (byte) 0xF4, (byte) 0xEB, (byte) 0xFD});
    }

    @Test
    void dumpsRegistersPlatformAndDomains() throws Exception {
        try (TestCores.Fixture fx = TestCores.start(2)) {
            fx.plugins().addBuilder(new HvmGuestBuilder());
            fx.plugins().addDeviceModel(new NullDeviceModel());
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
