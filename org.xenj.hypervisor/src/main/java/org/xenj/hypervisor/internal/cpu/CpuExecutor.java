package org.xenj.hypervisor.internal.cpu;

import java.util.function.Consumer;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VirtualClock;

/**
 * Runs a {@link Cpu} for the scheduler. Between blocks of instructions it checks, in this order:
 * the exit and shutdown flags, the deadline and platform timers (reading the clock only every few
 * blocks; timers on the domain's {@link VirtualClock}, the deadline on the host's), and pending interrupts (delivered when IF=1 and no interrupt shadow). HLT makes the
 * vCPU {@link RunExit#BLOCKED} unless an interrupt can be taken. Nothing the guest does escapes
 * {@link #run}: a triple fault or an internal error returns {@link RunExit#CRASH} after logging
 * the CPU state.
 */
public final class CpuExecutor implements VCpuExecutor {

    /** Instructions per block between interrupt checks. */
    static final int BLOCK = 1024;
    /** Blocks between clock reads. */
    private static final int CLOCK_EVERY = 8;

    private final Cpu cpu;
    private final CpuEnvironment env;
    private final Consumer<String> crashLog;
    private volatile boolean exitRequested;
    private volatile boolean shutdownRequested;
    private String crashReport;

    public CpuExecutor(Cpu cpu, CpuEnvironment env, Consumer<String> crashLog) {
        this.cpu = cpu;
        this.env = env;
        this.crashLog = crashLog == null ? s -> { } : crashLog;
    }

    public Cpu cpu() {
        return cpu;
    }

    /** Total guest instructions executed (for MIPS figures). */
    public long instructionCount() {
        return cpu.instructionCount();
    }

    /** Whether the vCPU is an AP waiting for its STARTUP IPI. */
    public boolean waitingForSipi() {
        return (env.processorState() & CpuEnvironment.PROCESSOR_WAIT_FOR_SIPI) != 0;
    }

    /** Makes {@link #run} return {@link RunExit#SHUTDOWN} at its next check (platform poweroff/reset). */
    public void requestShutdown() {
        shutdownRequested = true;
    }

    public boolean shutdownRequested() {
        return shutdownRequested;
    }

    /** The CPU state logged at the last crash, or null. */
    public String crashReport() {
        return crashReport;
    }

    @Override
    public void requestExit() {
        exitRequested = true;
    }

    @Override
    public String debugState() {
        return cpu.stateString() + "\nIF=" + (cpu.interruptsEnabled() ? 1 : 0) + " interrupt pending=" + env.interruptPending()
                + " interrupt shadow=" + cpu.interruptShadow + " exit requested=" + exitRequested;
    }

    @Override
    public boolean wakeupPending() {
        if (shutdownRequested || exitRequested) {
            return true;
        }
        int processor = env.processorState();
        if ((processor & CpuEnvironment.PROCESSOR_EVENT) != 0) {
            return true; // INIT, STARTUP or NMI
        }
        if ((processor & CpuEnvironment.PROCESSOR_WAIT_FOR_SIPI) != 0) {
            return false;
        }
        if (cpu.interruptsEnabled() && env.interruptPending()) {
            return true;
        }
        if (!cpu.isHalted()) {
            return true;
        }
        return false;
    }

    @Override
    public RunExit run(long deadlineNanos) {
        try {
            cpu.setActive(true);
            cpu.pauseRun = 0;
            return loop(deadlineNanos);
        } catch (Throwable t) { // a hypervisor bug: crash this domain only
            crash("internal error: " + t);
            if (t instanceof VirtualMachineError && !(t instanceof StackOverflowError)) {
                throw (VirtualMachineError) t;
            }
            return RunExit.CRASH;
        } finally {
            cpu.setActive(false);
        }
    }

    /**
     * Platform timers run on the domain's clock ({@link Cpu#setClock}, the clock the TSC follows),
     * the slice {@code deadline} on the host's, as the scheduler set it. With {@code HostClock} the
     * two are one read; a clock of its own (instruction-counted, or a test's) costs a second read
     * every {@link #CLOCK_EVERY} blocks, never one per instruction.
     */
    private RunExit loop(long deadline) {
        final VirtualClock domainClock = cpu.clock; // read once a slice: a builder may set it after construction
        final boolean hostTime = domainClock.isHostTime();
        int clock = 0;
        long now = domainClock.nanoTime();
        env.serviceTimers(now);
        while (true) {
            cpu.syncWriteCache(); // log-dirty: a migration round may have taken the marks
            if (exitRequested) {
                exitRequested = false;
                return RunExit.PREEMPTED;
            }
            if (shutdownRequested) {
                return RunExit.SHUTDOWN;
            }
            if (++clock >= CLOCK_EVERY || cpu.isHalted()) {
                clock = 0;
                now = domainClock.nanoTime();
                // always ask: the guest may have reprogrammed a timer since the last answer
                env.serviceTimers(now);
                if ((hostTime ? now : System.nanoTime()) - deadline >= 0) {
                    return RunExit.PREEMPTED;
                }
            }
            int processor = env.processorState();
            if (processor != 0) {
                // INIT then a STARTUP that followed it are taken one after the other here
                for (int event; (env.processorState() & CpuEnvironment.PROCESSOR_EVENT) != 0
                        && (event = env.takeProcessorEvent(!cpu.nmiBlocked())) != CpuEnvironment.EVENT_NONE;) {
                    actOn(event);
                }
                if ((env.processorState() & CpuEnvironment.PROCESSOR_WAIT_FOR_SIPI) != 0) {
                    return RunExit.BLOCKED; // an AP nobody has started: a STARTUP IPI wakes it
                }
            }
            if (cpu.interruptsEnabled() && env.interruptPending()) {
                if (cpu.interruptShadow) {
                    cpu.interruptShadow = false;
                    cpu.runSlice(1);
                    if (cpu.tripleFaulted()) {
                        return crash(cpu.tripleFaultReason);
                    }
                    continue;
                }
                int vector = env.acknowledgeInterrupt();
                if (vector >= 0) {
                    cpu.syncRemap(); // copy-on-write: the device's unshare came before its interrupt
                    cpu.deliverExternal(vector);
                }
            }
            if (cpu.isHalted()) {
                return RunExit.BLOCKED;
            }
            cpu.interruptShadow = false;
            cpu.runSliceToBlockEnd(BLOCK);
            if (cpu.tripleFaulted()) {
                return crash(cpu.tripleFaultReason);
            }
            if (cpu.pauseExit) {
                cpu.pauseExit = false;
                return RunExit.YIELD; // a spin loop: let the lock holder run (see CpuOrder.PAUSE_LOOP_EXIT)
            }
        }
    }

    /** INIT resets the processor, STARTUP starts it at the vector's page, an NMI goes through IDT vector 2. */
    private void actOn(int event) {
        switch (event & 0xff) {
            case CpuEnvironment.EVENT_INIT -> cpu.init();
            case CpuEnvironment.EVENT_SIPI -> cpu.startAtSipiVector(event >>> 8 & 0xff);
            case CpuEnvironment.EVENT_NMI -> cpu.deliverNmi();
            default -> { }
        }
    }

    private RunExit crash(String reason) {
        crashReport = "vCPU crashed: " + reason + "\n" + cpu.stateString();
        crashLog.accept(crashReport);
        return RunExit.CRASH;
    }
}
