package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

/**
 * Two vCPUs on the real CPU core and platform: the BSP starts the AP with INIT and STARTUP IPIs
 * written to its local APIC's ICR, as Linux's wakeup_secondary_cpu_via_init does (Intel SDM vol. 3,
 * 8.4.4.1); the AP runs real-mode code at vector &lt;&lt; 12; an NMI IPI reaches the AP's IDT vector
 * 2 with IF=0 and waits for IRET before a second one; the domain powers off only when both
 * vCPUs are down.
 */
class SmpStartupTest {

    private final FakeGuestContext ctx = new FakeGuestContext(DomainConfig.builder("smp").memoryMiB(4).vcpus(2).build());
    private final HvmPlatformImpl platform = new HvmPlatformImpl(ctx);

    private static final long DEADLINE = 1_000_000_000L;

    private VCpuExecutor[] boot(int[] bspCode) {
        for (int i = 0; i < bspCode.length; i++) {
            ctx.memory.write8(0x100000 + i, bspCode[i]);
        }
        long[] gdt = {0, 0, LinuxDirectBoot.FLAT_CODE, LinuxDirectBoot.FLAT_DATA};
        for (int i = 0; i < gdt.length; i++) {
            ctx.memory.write32(LinuxDirectBoot.GDT_ADDRESS + i * 8L, (int) gdt[i]);
            ctx.memory.write32(LinuxDirectBoot.GDT_ADDRESS + i * 8L + 4, (int) (gdt[i] >>> 32));
        }
        LinuxDirectBoot.EntryState entry = new LinuxDirectBoot.EntryState(0x100000, 0x7000, LinuxDirectBoot.GDT_ADDRESS, 31,
                LinuxDirectBoot.BOOT_CS, LinuxDirectBoot.BOOT_DS);
        Ia32VCpuFactory f = new Ia32VCpuFactory();
        return new VCpuExecutor[] {f.create(ctx, 0, platform, entry), f.create(ctx, 1, platform, null)};
    }

    /** mov dword [0xFEE00000 + reg], value */
    private static int[] apicWrite(int reg, int value) {
        int a = 0xfee00000 + reg;
        return new int[] {0xc7, 0x05, a & 0xff, a >>> 8 & 0xff, a >>> 16 & 0xff, a >>> 24 & 0xff, value & 0xff, value >>> 8 & 0xff,
            value >>> 16 & 0xff, value >>> 24 & 0xff};
    }

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(java.util.Arrays::stream).toArray();
    }

    private static Cpu cpu(VCpuExecutor e) {
        return ((HaltAwareExecutor) e).cpuExecutor().cpu();
    }

    @Test
    void initAndStartupIpisStartTheApInRealModeAtTheVectorsPage() {
        // AP at 0x9A000: mov ax, 0x1234; mov [0x600], ax; mov ax, cs; mov [0x602], ax; cli; hlt
        int[] ap = {0xb8, 0x34, 0x12, 0xa3, 0x00, 0x06, 0x8c, 0xc8, 0xa3, 0x02, 0x06, 0xfa, 0xf4};
        for (int i = 0; i < ap.length; i++) {
            ctx.memory.write8(0x9a000 + i, ap[i]);
        }
        VCpuExecutor[] cpus = boot(concat(apicWrite(0x310, 1 << 24), // destination APIC ID 1
                apicWrite(0x300, 0x4500), // INIT, assert
                apicWrite(0x300, 0x8500), // INIT, level de-assert
                apicWrite(0x300, 0x469a), // STARTUP, vector 0x9A
                apicWrite(0x300, 0x469a), // the second STARTUP of the sequence
                new int[] {0xfb, 0xf4, 0xeb, 0xfd})); // sti; hlt; jmp $-1

        assertEquals(RunExit.BLOCKED, cpus[1].run(System.nanoTime() + DEADLINE), "the AP waits for SIPI");
        assertFalse(cpus[1].wakeupPending());
        assertTrue(ctx.shutdowns.isEmpty(), "an AP waiting for SIPI alone does not power the domain off");
        assertEquals(RunExit.BLOCKED, cpus[0].run(System.nanoTime() + DEADLINE));
        assertTrue(cpus[1].wakeupPending(), "the IPIs woke the AP");
        assertEquals(RunExit.BLOCKED, cpus[1].run(System.nanoTime() + DEADLINE));
        assertEquals(0x1234, ctx.memory.read16(0x600), "the AP ran its trampoline");
        assertEquals(0x9a00, ctx.memory.read16(0x602), "CS = vector << 8");
        assertTrue(cpu(cpus[1]).isHalted());
        assertTrue(ctx.shutdowns.isEmpty(), "the BSP still runs");
    }

    @Test
    void nmiIpiReachesVectorTwoWithInterruptsOffAndWaitsForIret() {
        // AP real-mode trampoline at 0x9B000: IVT entry 2 -> 0000:0700; cli; hlt; jmp $-1
        // NMI handler at 0x700: inc byte [0x610]; iret
        int[] ap = {0xc7, 0x06, 0x08, 0x00, 0x00, 0x07, // mov word [8], 0x700
            0xc7, 0x06, 0x0a, 0x00, 0x00, 0x00, // mov word [10], 0
            0xfa, 0xf4, 0xeb, 0xfd};
        for (int i = 0; i < ap.length; i++) {
            ctx.memory.write8(0x9b000 + i, ap[i]);
        }
        int[] handler = {0xfe, 0x06, 0x10, 0x06, 0xcf};
        for (int i = 0; i < handler.length; i++) {
            ctx.memory.write8(0x700 + i, handler[i]);
        }
        VCpuExecutor[] cpus = boot(concat(apicWrite(0x310, 1 << 24), apicWrite(0x300, 0x4500), apicWrite(0x300, 0x469b),
                new int[] {0xfb, 0xf4, 0xeb, 0xfd}));
        cpus[0].run(System.nanoTime() + DEADLINE);
        cpus[1].run(System.nanoTime() + DEADLINE);
        assertTrue(cpu(cpus[1]).isHalted());
        platform.fabric().lapic(1).receive(4, 0, false); // an NMI, as an ICR write on the BSP sends it
        platform.fabric().flushWakes();
        assertTrue(cpus[1].wakeupPending(), "an NMI wakes a vCPU halted with interrupts off");
        cpus[1].run(System.nanoTime() + DEADLINE);
        assertEquals(1, ctx.memory.read8(0x610), "the NMI handler ran once");
        assertFalse(cpu(cpus[1]).nmiBlocked(), "its IRET ended NMI blocking");
    }

    @Test
    void theDomainPowersOffWhenTheLastVcpuGoesDown() {
        int[] ap = {0xfa, 0xf4}; // cli; hlt
        for (int i = 0; i < ap.length; i++) {
            ctx.memory.write8(0x9c000 + i, ap[i]);
        }
        // BSP: start the AP, spin a while, then cli; hlt
        VCpuExecutor[] cpus = boot(concat(apicWrite(0x310, 1 << 24), apicWrite(0x300, 0x4500), apicWrite(0x300, 0x469c),
                new int[] {0xb9, 0x00, 0x10, 0x00, 0x00, 0xe2, 0xfe, 0xfa, 0xf4})); // mov ecx, 0x1000; loop $; cli; hlt
        RunExit bsp = cpus[0].run(System.nanoTime() + DEADLINE);
        assertEquals(RunExit.BLOCKED, bsp, "the AP has not run yet: it counts as up once started");
        assertTrue(ctx.shutdowns.isEmpty());
        assertEquals(RunExit.SHUTDOWN, cpus[1].run(System.nanoTime() + DEADLINE), "the AP halts with interrupts off: all down");
        assertEquals(List.of(ShutdownReason.POWEROFF), ctx.shutdowns);
    }

    @Test
    void severalVcpusWithoutTheApicAreRefused() {
        FakeGuestContext noApic = new FakeGuestContext(DomainConfig.builder("smp").memoryMiB(4).vcpus(2)
                .raw(java.util.Map.of("apic", "0")).build());
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> new Ia32VCpuFactory().create(noApic, 1, new HvmPlatformImpl(noApic), null));
        assertTrue(e.getMessage().contains("local APIC"), e.getMessage());
    }
}
