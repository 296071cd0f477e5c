package org.xenj.hypervisor.internal.platform;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.HostTimer;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.spi.ConsoleInput;
import org.xenj.hypervisor.spi.DeviceModel;

/** A domain core stand-in: real memory, recorded wake-ups, timers, shutdowns and output. */
public final class FakeGuestContext implements GuestContext {

    public final DomainConfig config;
    public final DomainMemory memory;
    public int wakes;
    public final List<ShutdownReason> shutdowns = new ArrayList<>();
    public final List<String> logs = new ArrayList<>();
    public final ByteArrayOutputStream console = new ByteArrayOutputStream();
    public final List<Long> timerDeadlines = new ArrayList<>();
    public final List<Runnable> timerTasks = new ArrayList<>();
    public ConsoleInput consoleInput;
    public final List<DeviceModel> deviceModels = new ArrayList<>();

    public FakeGuestContext(DomainConfig config) {
        this(config, false);
    }

    /** @param pcLayout RAM around the VGA window, as the domain core lays out HVM domains */
    public FakeGuestContext(DomainConfig config, boolean pcLayout) {
        this.config = config;
        this.memory = new DomainMemory(new MachineMemory((config.memoryMiB() + 4) << 20), 1);
        if (pcLayout) {
            org.xenj.hypervisor.internal.mem.HvmRamLayout.populate(memory, (int) (config.memoryMiB() << 8));
        } else {
            memory.populate(0, (int) (config.memoryMiB() << 8));
        }
    }

    @Override
    public int domid() {
        return 1;
    }

    @Override
    public DomainConfig config() {
        return config;
    }

    @Override
    public DomainMemory memory() {
        return memory;
    }

    @Override
    public VCpuWaker waker(int vcpu) {
        return () -> wakes++;
    }

    @Override
    public void requestShutdown(ShutdownReason reason) {
        shutdowns.add(reason);
    }

    @Override
    public synchronized void consoleOutput(byte[] data, int off, int len) {
        console.write(data, off, len);
    }

    @Override
    public void setConsoleInput(ConsoleInput input) {
        this.consoleInput = input;
    }

    @Override
    public void log(String message) {
        logs.add(message);
    }

    @Override
    public List<DeviceModel> deviceModels() {
        return deviceModels;
    }

    @Override
    public HostTimer.Handle schedule(long deadlineNanos, Runnable task) {
        timerDeadlines.add(deadlineNanos);
        timerTasks.add(task);
        return () -> timerTasks.remove(task);
    }
}
