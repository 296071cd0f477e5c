package org.xenj.hypervisor.internal.exec;

import java.util.List;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.spi.ConsoleInput;
import org.xenj.hypervisor.spi.DeviceModel;

/** What the domain core gives a {@link GuestBuilder} and the guest it builds. */
public interface GuestContext {

    int domid();

    DomainConfig config();

    DomainMemory memory();

    /** Wakes vCPU {@code vcpu} from a block (interrupt, event, timer). */
    VCpuWaker waker(int vcpu);

    /** Records the guest's shutdown request; the vCPU's executor then returns {@link VCpuExecutor.RunExit#SHUTDOWN}. */
    void requestShutdown(ShutdownReason reason);

    /**
     * The guest ends its domain with an exit code (QEMU's isa-debug-exit): recorded for
     * {@code xen:list -l} and dmesg, then a poweroff.
     */
    default void requestExit(int code) {
        requestShutdown(ShutdownReason.POWEROFF);
    }

    /** Guest console output: shown by {@code xen:console}, kept in the domain's console log. */
    void consoleOutput(byte[] data, int off, int len);

    void setConsoleInput(ConsoleInput input);

    /** Logs to dmesg, prefixed with the domain. */
    void log(String message);

    /** Device models currently registered (OSGi services), best first. */
    List<DeviceModel> deviceModels();

    /** The domain's one virtual clock (TSC, platform timers, Xen time). The same object for the domain's life. */
    VirtualClock clock();

    /**
     * Runs {@code task} on the host timer thread at {@code deadlineNanos} ({@link System#nanoTime()}
     * scale). Used to wake halted vCPUs when a platform timer is due. Tasks must be short.
     */
    HostTimer.Handle schedule(long deadlineNanos, Runnable task);

    /**
     * State the core owns once for all its domains and hands to builders explicitly, looked up by
     * type (the Xen host: event channels, grant tables, xenstore, hypercall table). Null when this
     * context has none (a standalone runner without a core).
     */
    default <T> T shared(Class<T> type) {
        return null;
    }

    /**
     * An incoming live migration: the builder leaves the device models' places vacant; the
     * migrated state attaches them once the source has let go of its images ({@link Guest#restoreMachine}).
     */
    default boolean deferDevices() {
        return false;
    }
}
