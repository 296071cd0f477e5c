package org.xenj.hypervisor.internal.pv;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.HostTimer;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.spi.ConsoleInput;
import org.xenj.hypervisor.spi.DeviceModel;

/** A GuestContext for tests: records console output, shutdowns, wake-ups and timers (run by hand). */
public class TestContext implements GuestContext {

    public final int domid;
    public final DomainMemory memory;
    public DomainConfig config;
    public final ByteArrayOutputStream console = new ByteArrayOutputStream();
    public final List<String> log = new ArrayList<>();
    public final AtomicInteger wakes = new AtomicInteger();
    public volatile ShutdownReason shutdown;
    public ConsoleInput input;
    /** Fuzzing: drop console output and timers instead of keeping them. */
    public volatile boolean discard;
    public final List<long[]> timerDeadlines = new ArrayList<>();
    public final List<Runnable> timerTasks = new ArrayList<>();
    /** The Xen host builders get (as the core hands out its own); null gives each domain a host of its own. */
    public XenHost xen;

    public TestContext(MachineMemory machine, int domid, DomainType type) {
        this.domid = domid;
        this.memory = new DomainMemory(machine, domid);
        this.config = DomainConfig.builder("test" + domid).type(type).memoryMiB(4).build();
    }

    @Override
    public int domid() {
        return domid;
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
        return wakes::incrementAndGet;
    }

    @Override
    public void requestShutdown(ShutdownReason reason) {
        shutdown = reason;
    }

    @Override
    public synchronized void consoleOutput(byte[] data, int off, int len) {
        if (discard) {
            return;
        }
        console.write(data, off, len);
    }

    public synchronized String consoleText() {
        return console.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    @Override
    public void setConsoleInput(ConsoleInput input) {
        this.input = input;
    }

    @Override
    public synchronized void log(String message) {
        if (log.size() < 1000) {
            log.add(message);
        }
    }

    @Override
    public List<DeviceModel> deviceModels() {
        return List.of();
    }

    /** The domain clock: host time, created with this context. */
    private final org.xenj.hypervisor.internal.exec.VirtualClock clock = new org.xenj.hypervisor.internal.timer.HostClock();

    @Override
    public org.xenj.hypervisor.internal.exec.VirtualClock clock() {
        return clock;
    }

    @Override
    public <T> T shared(Class<T> type) {
        return type == XenHost.class ? type.cast(xen) : null;
    }

    @Override
    public synchronized HostTimer.Handle schedule(long deadlineNanos, Runnable task) {
        if (discard) {
            if (timerTasks.size() < 16) {
                timerTasks.add(task);
            }
            return () -> { };
        }
        long[] cancelled = {deadlineNanos, 0};
        timerDeadlines.add(cancelled);
        timerTasks.add(() -> {
            if (cancelled[1] == 0) {
                task.run();
            }
        });
        return () -> cancelled[1] = 1;
    }

    /** Runs every timer task scheduled so far (cancelled ones do nothing). */
    public void runTimers() {
        List<Runnable> ts;
        synchronized (this) {
            ts = new ArrayList<>(timerTasks);
            timerTasks.clear();
        }
        ts.forEach(Runnable::run);
    }
}
