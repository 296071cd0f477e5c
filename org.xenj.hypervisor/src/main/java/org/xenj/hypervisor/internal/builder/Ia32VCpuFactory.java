package org.xenj.hypervisor.internal.builder;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.CpuExecutor;
import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.cpu.jit.JitOptions;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

/**
 * vCPUs on the IA-32 CPU core with the x87, started in the state {@link LinuxDirectBoot} leaves:
 * 32-bit protected mode, paging and interrupts off, CS/DS/ES/SS from the boot GDT, ESI = zero
 * page, EBP/EDI = 0, EAX/EBX as the entry state says (multiboot magic and info, PVH start_info).
 * CPUID advertises the local APIC only with {@code apic=1} in the domain's configuration: without it Linux drives the PIC and PIT alone, the simplest path.
 */
final class Ia32VCpuFactory implements HvmVCpuFactory {

    @Override
    public VCpuExecutor create(GuestContext context, int vcpu, HvmPlatformImpl platform, LinuxDirectBoot.EntryState entry) {
        if (entry == null) {
            throw new HypervisorException("HVM domains with more than one vCPU are not supported yet (no INIT/SIPI)");
        }
        CpuEnvironment env = platform.environment(vcpu);
        Cpu cpu = new Cpu(context.memory(), env);
        cpu.setTranslator(translatorSetting(context.config().raw()));
        cpu.setClock(context.clock());
        cpu.setFpu(new X87(cpu.fpuMemory()));
        cpu.setApicPresent(apicEnabled(context), vcpu);
        HvmXenAbiSetup.install(cpu, platform.xenAbi(), vcpu);
        if (entry.resetVector()) {
            cpu.resetToRealMode(); // F000:FFF0 with CS base 0xFFFF0000: the firmware's reset vector
            CpuExecutor executor = new CpuExecutor(cpu, env, context::log);
            platform.onShutdownRequest(executor::requestShutdown);
            return new HaltAwareExecutor(executor, platform);
        }
        cpu.enterFlatProtectedMode32(0);
        cpu.setGdtr((int) entry.gdtBase(), entry.gdtLimit());
        cpu.setIdtr(0, 0);
        cpu.loadSegment(Cpu.CS, entry.codeSelector());
        for (int seg : new int[] {Cpu.DS, Cpu.ES, Cpu.SS, Cpu.FS, Cpu.GS}) {
            cpu.loadSegment(seg, entry.dataSelector());
        }
        for (int r = 0; r < 8; r++) {
            cpu.setReg32(r, 0);
        }
        cpu.setReg32(Cpu.ESI, entry.esi());
        cpu.setReg32(Cpu.EAX, entry.eax());
        cpu.setReg32(Cpu.EBX, entry.ebx());
        cpu.setEip(entry.eip());
        cpu.setEflags(0x2);
        CpuExecutor executor = new CpuExecutor(cpu, env, context::log);
        platform.onShutdownRequest(executor::requestShutdown);
        return new HaltAwareExecutor(executor, platform);
    }

    /** The domain's {@code jit} key (null: the hypervisor's default); a bad value fails the build with the reason. */
    static Boolean translatorSetting(java.util.Map<String, String> raw) {
        try {
            return JitOptions.configValue(raw.get(JitOptions.CONFIG_KEY));
        } catch (IllegalArgumentException e) {
            throw new HypervisorException(e.getMessage());
        }
    }

    static boolean apicEnabled(GuestContext context) {
        String v = context.config().raw().get("apic");
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true"));
    }
}
