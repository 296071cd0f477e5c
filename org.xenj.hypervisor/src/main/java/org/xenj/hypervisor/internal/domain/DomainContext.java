package org.xenj.hypervisor.internal.domain;

import java.util.List;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.HostTimer;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.exec.VirtualClock;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.spi.ConsoleInput;
import org.xenj.hypervisor.spi.DeviceModel;

/** What a GuestBuilder and the guest it builds get from the core for one domain. */
final class DomainContext implements GuestContext {

    private final HypervisorCore core;
    private final DomainImpl domain;

    DomainContext(HypervisorCore core, DomainImpl domain) {
        this.core = core;
        this.domain = domain;
    }

    @Override
    public int domid() {
        return domain.id;
    }

    @Override
    public boolean deferDevices() {
        return domain.devicesDeferred;
    }

    @Override
    public DomainConfig config() {
        return domain.config;
    }

    @Override
    public DomainMemory memory() {
        return domain.memory;
    }

    @Override
    public VCpuWaker waker(int vcpu) {
        if (vcpu < 0 || vcpu >= domain.sched.vcpuCount()) {
            throw new HypervisorException(domain + " has no vCPU " + vcpu);
        }
        return domain.vcpu(vcpu);
    }

    @Override
    public void requestExit(int code) {
        synchronized (domain) {
            if (domain.exitCode == null && domain.shutdownReason == null) {
                domain.exitCode = code;
            }
        }
        core.log("d" + domain.id + " (" + domain.name + ") exits with code " + code + " (isa-debug-exit)");
        requestShutdown(ShutdownReason.POWEROFF);
    }

    @Override
    public void requestShutdown(ShutdownReason reason) {
        core.guestShutdown(domain, reason == null ? ShutdownReason.POWEROFF : reason, null);
    }

    @Override
    public void consoleOutput(byte[] data, int off, int len) {
        domain.console.output(data, off, len);
    }

    @Override
    public void setConsoleInput(ConsoleInput input) {
        domain.console.setInput(input);
    }

    @Override
    public void log(String message) {
        core.log("(d" + domain.id + ") " + message);
    }

    @Override
    public List<DeviceModel> deviceModels() {
        return core.plugins().deviceModels();
    }

    @Override
    public VirtualClock clock() {
        return domain.clock;
    }

    @Override
    public <T> T shared(Class<T> type) {
        return type == XenHost.class ? type.cast(core.xen()) : null;
    }

    @Override
    public HostTimer.Handle schedule(long deadlineNanos, Runnable task) {
        return core.timer().schedule(deadlineNanos, task);
    }
}
