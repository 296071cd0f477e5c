package org.xenj.hypervisor.internal.builder;

import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.CpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

/**
 * An HVM vCPU as Xen runs it: HLT with interrupts disabled can only be left by an NMI or INIT
 * (from another vCPU), so (like Xen's hvm_hlt) it takes the vCPU down, and once every vCPU is
 * down — halted so, or an AP never started — the domain powers off. That is how a guest without
 * ACPI ends with {@code poweroff -f}: Linux stops the other CPUs (they halt with interrupts off)
 * and its machine_power_off falls back to halting with interrupts off.
 */
public final class HaltAwareExecutor implements VCpuExecutor {

    private final CpuExecutor executor;
    private final Cpu cpu;
    private final HvmPlatformImpl platform;
    private final int vcpu;

    HaltAwareExecutor(CpuExecutor executor, HvmPlatformImpl platform, int vcpu) {
        this.vcpu = vcpu;
        this.executor = executor;
        this.cpu = executor.cpu();
        this.platform = platform;
    }

    public CpuExecutor cpuExecutor() {
        return executor;
    }

    @Override
    public RunExit run(long deadlineNanos) {
        RunExit exit = executor.run(deadlineNanos);
        boolean down = exit == RunExit.BLOCKED && (cpu.isHalted() && !cpu.interruptsEnabled() || executor.waitingForSipi());
        if (platform.markVCpuDown(vcpu, down)) {
            platform.log("vCPU " + vcpu + " halted with interrupts disabled: all vCPUs down, powering off");
            platform.requestShutdown(ShutdownReason.POWEROFF);
            return RunExit.SHUTDOWN;
        }
        return exit;
    }

    @Override
    public void requestExit() {
        executor.requestExit();
    }

    @Override
    public boolean wakeupPending() {
        return executor.wakeupPending();
    }

    @Override
    public String debugState() {
        return executor.debugState();
    }
}
