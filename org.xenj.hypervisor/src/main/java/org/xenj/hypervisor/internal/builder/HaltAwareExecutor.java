package org.xenj.hypervisor.internal.builder;

import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.CpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

/**
 * An HVM vCPU as Xen runs it: HLT with interrupts disabled can only be left by an NMI, which
 * nothing here sends, so (like Xen's hvm_hlt) it takes the vCPU down, and with the only vCPU
 * down the domain powers off. That is how a guest without ACPI ends with {@code poweroff -f}:
 * Linux's machine_power_off falls back to halting with interrupts off.
 */
public final class HaltAwareExecutor implements VCpuExecutor {

    private final CpuExecutor executor;
    private final Cpu cpu;
    private final HvmPlatformImpl platform;

    HaltAwareExecutor(CpuExecutor executor, HvmPlatformImpl platform) {
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
        if (exit == RunExit.BLOCKED && cpu.isHalted() && !cpu.interruptsEnabled()) {
            platform.log("vCPU halted with interrupts disabled: all vCPUs down, powering off");
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
