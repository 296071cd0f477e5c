package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;

/** The xl.cfg switch for Xen's HVM ABI, and what the platform gets when it is on. */
class HvmXenAbiSetupTest {

    private static DomainConfig config(Map<String, String> raw) {
        return DomainConfig.builder("x").type(DomainType.HVM).memoryMiB(16).raw(raw).build();
    }

    @Test
    void onByDefaultOffWithZeroAndBadValuesAreErrors() {
        assertTrue(HvmXenAbiSetup.enabled(config(Map.of())));
        assertTrue(HvmXenAbiSetup.enabled(config(Map.of("xen_platform_pci", "1"))));
        assertFalse(HvmXenAbiSetup.enabled(config(Map.of("xen_platform_pci", "0"))));
        assertFalse(HvmXenAbiSetup.enabled(config(Map.of("xen_platform_pci", "\"false\""))));
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> HvmXenAbiSetup.enabled(config(Map.of("xen_platform_pci", "maybe"))));
        assertTrue(e.getMessage().contains("xen_platform_pci=maybe"), e.getMessage());
    }

    @Test
    void platformGetsDebugPortsAndTheHypercallMsrAndDestroyTearsDown() {
        FakeGuestContext ctx = new FakeGuestContext(config(Map.of()));
        HvmPlatformImpl platform = new HvmPlatformImpl(ctx);
        assertNotNull(HvmXenAbiSetup.attach(ctx, platform));
        CpuEnvironment env = platform.environment(0);
        assertTrue(env.writeMsr(0x40000000, 0x5000), "hypercall MSR accepted through the vCPU's environment");
        assertEquals(0xb8, ctx.memory().read8(0x5000), "stub 0 starts with mov eax, imm32");
        assertEquals(0xe9, env.ioRead(0xe9, 1), "debug port answers 0xe9");
        for (char c : "hi\n".toCharArray()) {
            env.ioWrite(0x12, 1, c);
        }
        assertTrue(String.join("\n", ctx.logs).contains("debug port: hi"), ctx.logs.toString());
        // the toolstack's part: store and console rings above RAM, announced in HVM params
        var d = platform.xenAbi().domain();
        long ramFrames = 16 << 8;
        assertEquals(ramFrames, d.hvmParams[org.xenj.hypervisor.internal.xenabi.XenAbi.HVM_PARAM_STORE_PFN]);
        assertEquals(ramFrames + 1, d.hvmParams[org.xenj.hypervisor.internal.xenabi.XenAbi.HVM_PARAM_CONSOLE_PFN]);
        assertEquals(d.storeMfn, ctx.memory().mfn(ramFrames));
        assertEquals(d.consoleMfn, ctx.memory().mfn(ramFrames + 1));
        assertTrue(d.hvmParams[org.xenj.hypervisor.internal.xenabi.XenAbi.HVM_PARAM_STORE_EVTCHN] > 0);
        assertTrue(d.hvmParams[org.xenj.hypervisor.internal.xenabi.XenAbi.HVM_PARAM_CONSOLE_EVTCHN] > 0);
        assertEquals(Long.toString(ramFrames * 4), d.host.store.readString(0, "/local/domain/1/memory/target"),
                "balloon target = the RAM the guest has");
        assertNull(ctx.consoleInput, "the serial line keeps the console input");
        platform.destroy();
        assertTrue(String.join("\n", ctx.logs).contains("Xen ABI:"), "hypercall summary logged at teardown");
        assertNull(d.host.domain(1), "Xen state gone");
    }

    @Test
    void switchedOffTheGuestSeesNoneOfIt() {
        FakeGuestContext ctx = new FakeGuestContext(config(Map.of("xen_platform_pci", "0")));
        HvmPlatformImpl platform = new HvmPlatformImpl(ctx);
        assertNull(HvmXenAbiSetup.attach(ctx, platform));
        assertNull(platform.xenAbi());
        assertFalse(platform.environment(0).writeMsr(0x40000000, 0x5000), "WRMSR of the hypercall MSR -> #GP");
        assertEquals(0, ctx.memory().read8(0x5000));
        platform.destroy();
    }
}
