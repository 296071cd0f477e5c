package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

class HaltAwareExecutorTest {

    private final FakeGuestContext ctx = new FakeGuestContext(DomainConfig.builder("h").memoryMiB(4).build());
    private final HvmPlatformImpl platform = new HvmPlatformImpl(ctx);

    private VCpuExecutor boot(int... code) {
        for (int i = 0; i < code.length; i++) {
            ctx.memory.write8(0x100000 + i, code[i]);
        }
        LinuxDirectBoot.EntryState entry = new LinuxDirectBoot.EntryState(0x100000, 0x7000, LinuxDirectBoot.GDT_ADDRESS, 31,
                LinuxDirectBoot.BOOT_CS, LinuxDirectBoot.BOOT_DS);
        long[] gdt = {0, 0, LinuxDirectBoot.FLAT_CODE, LinuxDirectBoot.FLAT_DATA};
        for (int i = 0; i < gdt.length; i++) {
            ctx.memory.write32(LinuxDirectBoot.GDT_ADDRESS + i * 8L, (int) gdt[i]);
            ctx.memory.write32(LinuxDirectBoot.GDT_ADDRESS + i * 8L + 4, (int) (gdt[i] >>> 32));
        }
        return new Ia32VCpuFactory().create(ctx, 0, platform, entry);
    }

    @Test
    void haltWithInterruptsOffPowersTheDomainOff() {
        VCpuExecutor cpu = boot(0xfa, 0xf4); // cli; hlt
        assertEquals(RunExit.SHUTDOWN, cpu.run(System.nanoTime() + 1_000_000_000L));
        assertEquals(List.of(ShutdownReason.POWEROFF), ctx.shutdowns);
    }

    @Test
    void haltWithInterruptsOnJustBlocks() {
        VCpuExecutor cpu = boot(0xfb, 0xf4, 0xeb, 0xfd); // sti; hlt; jmp $-1
        assertEquals(RunExit.BLOCKED, cpu.run(System.nanoTime() + 1_000_000_000L));
        assertTrue(ctx.shutdowns.isEmpty());
    }

    @Test
    void keyboardControllerStyleResetStopsTheVcpu() {
        // out 0xcf9, al with al = 6: the platform's reset control asks for a reboot and stops the executor
        VCpuExecutor cpu = boot(0xb0, 0x06, 0xba, 0xf9, 0x0c, 0x00, 0x00, 0xee, 0xeb, 0xfe);
        assertEquals(RunExit.SHUTDOWN, cpu.run(System.nanoTime() + 1_000_000_000L));
        assertEquals(List.of(ShutdownReason.REBOOT), ctx.shutdowns);
    }
}
