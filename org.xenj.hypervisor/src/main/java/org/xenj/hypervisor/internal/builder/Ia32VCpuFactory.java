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
        CpuEnvironment env = platform.environment(vcpu);
        Cpu cpu = new Cpu(context.memory(), env);
        cpu.setTranslator(translatorSetting(context.config().raw()));
        cpu.setClock(context.clock());
        cpu.setFpu(new X87(cpu.fpuMemory()));
        cpu.setApicPresent(apicEnabled(context), vcpu);
        HvmXenAbiSetup.install(cpu, platform.xenAbi(), vcpu);
        if (entry == null || entry.resetVector()) {
            // F000:FFF0 with CS base 0xFFFF0000: the firmware's reset vector; an AP (no entry) sits
            // in wait-for-SIPI in this state until INIT/STARTUP IPIs start it (its local APIC says so)
            cpu.resetToRealMode();
            CpuExecutor executor = new CpuExecutor(cpu, env, context::log);
            platform.onShutdownRequest(executor::requestShutdown);
            return new HaltAwareExecutor(executor, platform, vcpu);
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
        return new HaltAwareExecutor(executor, platform, vcpu);
    }

    /** The domain's {@code jit} key (null: the hypervisor's default); a bad value fails the build with the reason. */
    static Boolean translatorSetting(java.util.Map<String, String> raw) {
        try {
            return JitOptions.configValue(raw.get(JitOptions.CONFIG_KEY));
        } catch (IllegalArgumentException e) {
            throw new HypervisorException(e.getMessage());
        }
    }

    /**
     * The domain's {@code apic} key; unset, the APIC is on with more than one vCPU (SMP needs it:
     * IPIs and INIT/SIPI go through it) and off with one. {@code apic=0} with several vCPUs is refused.
     */
    static boolean apicEnabled(GuestContext context) {
        String v = context.config().raw().get("apic");
        int vcpus = context.config().vcpus();
        if (v == null || v.isBlank()) {
            return vcpus > 1;
        }
        boolean on = v.equals("1") || v.equalsIgnoreCase("true");
        if (!on && vcpus > 1) {
            throw new HypervisorException("apic = " + v + " with vcpus = " + vcpus
                    + ": more than one vCPU needs the local APIC (inter-processor interrupts, INIT/SIPI)");
        }
        return on;
    }
}
