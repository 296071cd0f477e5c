package org.xenj.hvm.qemudm.boot;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.HostTimer;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.spi.ConsoleInput;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;

/**
 * Boots one HVM domain with the real builder, CPU and device model, but without the domain core:
 * a thread per vCPU runs it (blocking on HLT or wait-for-SIPI until woken), a scheduled executor
 * stands in for the host timer. For the boot test's direct mode and for diagnosing boots.
 */
public final class DirectBootRunner implements GuestContext, AutoCloseable {

    private final DomainConfig config;
    private final DomainMemory memory;
    private final ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "xenj-host-timer");
        t.setDaemon(true);
        return t;
    });
    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private final PrintStream echo;
    private final Object wakeLock = new Object();
    /** Per vCPU: woken since it last blocked (guarded by {@link #wakeLock}). */
    private final boolean[] woken;
    private volatile ConsoleInput input;
    private volatile ShutdownReason shutdown;
    private volatile RunExit lastExit;
    private volatile boolean stop;
    private Thread vcpuThread;
    private Thread[] vcpuThreads = new Thread[0];
    private Guest guest;
    private final StringBuilder log = new StringBuilder();

    private final DeviceModel deviceModel;

    public DirectBootRunner(DomainConfig config, PrintStream echo) {
        this(config, echo, new QemuDeviceModel());
    }

    /** With a given device model (e.g. qemu-dm with the block layer, for IDE disks). */
    public DirectBootRunner(DomainConfig config, PrintStream echo, DeviceModel deviceModel) {
        this.deviceModel = deviceModel;
        this.config = config;
        this.echo = echo;
        MachineMemory machine = new MachineMemory((config.memoryMiB() + 1) << 20);
        this.memory = new DomainMemory(machine, 1);
        this.woken = new boolean[config.vcpus()];
        int frames = (int) (config.memoryMiB() << 8);
        if (config.raw().containsKey("vga")) {
            // as HypervisorCore lays out every HVM domain: 0xA0000-0xBFFFF is not RAM, so the stdvga can claim it
            // (the other boots here keep contiguous RAM, which MultibootBootTest's memory figures expect)
            org.xenj.hypervisor.internal.mem.HvmRamLayout.populate(memory, frames);
        } else {
            memory.populate(0, frames);
        }
        timers.setRemoveOnCancelPolicy(true);
    }

    public void start() {
        guest = new HvmGuestBuilder().build(this);
        vcpuThreads = new Thread[config.vcpus()];
        for (int i = 0; i < vcpuThreads.length; i++) {
            VCpuExecutor cpu = guest.executor(i);
            int vcpu = i;
            vcpuThreads[i] = new Thread(() -> runVcpu(vcpu, cpu), "xenj-vcpu-" + config.name() + "." + i);
            vcpuThreads[i].setDaemon(true);
        }
        vcpuThread = vcpuThreads[0];
        for (Thread t : vcpuThreads) {
            t.start();
        }
    }

    /** The platform's interrupt controllers and timers (xl debug-keys 'd'). */
    public String platformDebugState() {
        return guest.debugState();
    }

    /** The IA-32 executor behind vCPU {@code vcpu}. */
    public org.xenj.hypervisor.internal.cpu.CpuExecutor cpuExecutor(int vcpu) {
        return guest.executor(vcpu) instanceof org.xenj.hypervisor.internal.builder.HaltAwareExecutor h ? h.cpuExecutor() : null;
    }

    public VCpuExecutor executor() {
        return guest.executor(0);
    }

    /** The IA-32 executor behind the vCPU, for instruction counts and state dumps. */
    public org.xenj.hypervisor.internal.cpu.CpuExecutor cpuExecutor() {
        return guest.executor(0) instanceof org.xenj.hypervisor.internal.builder.HaltAwareExecutor h ? h.cpuExecutor() : null;
    }

    private void runVcpu(int vcpu, VCpuExecutor cpu) {
        while (!stop) {
            RunExit exit = cpu.run(System.nanoTime() + 10_000_000);
            lastExit = exit;
            if (exit == RunExit.YIELD) {
                Thread.yield(); // a pause loop: the host core to the thread of the vCPU it waits for, if that one is off-CPU
            }
            if (exit == RunExit.SHUTDOWN || exit == RunExit.CRASH) {
                if (exit == RunExit.CRASH && shutdown == null) {
                    shutdown = ShutdownReason.CRASH;
                }
                return;
            }
            if (exit == RunExit.BLOCKED) {
                synchronized (wakeLock) {
                    long until = System.nanoTime() + 50_000_000;
                    while (!woken[vcpu] && !stop && !cpu.wakeupPending() && System.nanoTime() < until) {
                        try {
                            wakeLock.wait(5);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    woken[vcpu] = false;
                }
            }
        }
    }

    public synchronized String consoleText() {
        return console.toString(StandardCharsets.ISO_8859_1);
    }

    public void type(String text) {
        ConsoleInput in = input;
        if (in != null) {
            in.input(text.getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    /** Waits until the console output (from {@code from}) contains {@code text}; returns its index or -1. */
    public int waitFor(String text, int from, long timeoutMillis) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < end) {
            String s = consoleText();
            int i = s.indexOf(text, Math.min(from, s.length()));
            if (i >= 0) {
                return i;
            }
            if (shutdown != null) {
                return -1;
            }
            Thread.sleep(20);
        }
        return -1;
    }

    public ShutdownReason shutdownReason() {
        return shutdown;
    }

    public RunExit lastExit() {
        return lastExit;
    }

    public synchronized String log() {
        return log.toString();
    }

    public boolean waitForShutdown(long timeoutMillis) throws InterruptedException {
        vcpuThread.join(timeoutMillis);
        return !vcpuThread.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        synchronized (wakeLock) {
            wakeLock.notifyAll();
        }
        for (int i = 0; i < vcpuThreads.length; i++) {
            guest.executor(i).requestExit();
            vcpuThreads[i].join(2000);
        }
        if (guest != null) {
            guest.destroy();
        }
        timers.shutdownNow();
        memory.releaseAll();
    }

    // ---- GuestContext ----

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
        return () -> {
            synchronized (wakeLock) {
                woken[vcpu] = true;
                wakeLock.notifyAll();
            }
        };
    }

    private volatile Integer exitCode;

    /** The exit code the guest ended with through isa-debug-exit, or null. */
    public Integer exitCode() {
        return exitCode;
    }

    @Override
    public void requestExit(int code) {
        if (exitCode == null) {
            exitCode = code;
        }
        requestShutdown(ShutdownReason.POWEROFF);
    }

    @Override
    public void requestShutdown(ShutdownReason reason) {
        if (shutdown == null) {
            shutdown = reason;
        }
    }

    @Override
    public synchronized void consoleOutput(byte[] data, int off, int len) {
        console.write(data, off, len);
        if (echo != null) {
            echo.write(data, off, len);
            echo.flush();
        }
    }

    @Override
    public void setConsoleInput(ConsoleInput input) {
        this.input = input;
    }

    @Override
    public synchronized void log(String message) {
        log.append(message).append('\n');
        if (echo != null) {
            echo.println("[xenj] " + message);
        }
    }

    @Override
    public List<DeviceModel> deviceModels() {
        return List.of(deviceModel);
    }

    /** The domain clock: host time, created with this context. */
    private final org.xenj.hypervisor.internal.exec.VirtualClock clock = new org.xenj.hypervisor.internal.timer.HostClock();

    @Override
    public org.xenj.hypervisor.internal.exec.VirtualClock clock() {
        return clock;
    }

    @Override
    public HostTimer.Handle schedule(long deadlineNanos, Runnable task) {
        long delay = Math.max(0, deadlineNanos - System.nanoTime());
        var f = timers.schedule(task, delay, TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }
}
