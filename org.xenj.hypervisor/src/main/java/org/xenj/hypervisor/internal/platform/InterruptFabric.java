package org.xenj.hypervisor.internal.platform;

import java.util.concurrent.atomic.AtomicIntegerArray;

import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.platform.apic.ApicBus;
import org.xenj.hypervisor.internal.platform.apic.IoApic;
import org.xenj.hypervisor.internal.platform.apic.IoApicState;
import org.xenj.hypervisor.internal.platform.apic.LocalApicState;
import org.xenj.hypervisor.internal.platform.apic.LocalApic;
import org.xenj.hypervisor.internal.platform.pic.PicPair;
import org.xenj.hypervisor.internal.platform.pic.PicState;

/**
 * A domain's interrupt controllers wired together as on a PC: ISA IRQs reach the PIC pair and the
 * IOAPIC; the PIC's INTR reaches vCPU 0 through LINT0 (virtual wire); the IOAPIC and IPIs reach
 * local APICs, INIT/STARTUP/NMI messages included: they latch in the target's APIC and the vCPU
 * acts on them at its next block boundary ({@link #processorState}, {@link #takeProcessorEvent}). One lock guards all of it, so that any thread may raise a line. Each vCPU's
 * "interrupt pending" is kept in a volatile slot the CPU reads without locking. Wake-ups are
 * collected under the lock and handed to the scheduler only by {@link #flushWakes()}, outside it,
 * so that no scheduler lock is ever taken while the fabric lock is held.
 */
public final class InterruptFabric implements IrqLine, ApicBus {

    private final Object lock = new Object();
    private final PicPair pic;
    private final IoApic ioApic;
    private final LocalApic[] lapics;
    private final VCpuWaker[] wakers;
    /** Per vCPU: 1 if an interrupt is deliverable now. */
    private final AtomicIntegerArray pending;
    /** Per vCPU: {@link #PROCESSOR_EVENT} and {@link #PROCESSOR_WAIT_FOR_SIPI} bits, read lock-free at block boundaries. */
    private final AtomicIntegerArray processor;
    /** {@link #processorState} bits: an INIT, SIPI or NMI to act on; the vCPU waits for a STARTUP IPI. */
    public static final int PROCESSOR_EVENT = org.xenj.hypervisor.internal.exec.CpuEnvironment.PROCESSOR_EVENT,
            PROCESSOR_WAIT_FOR_SIPI = org.xenj.hypervisor.internal.exec.CpuEnvironment.PROCESSOR_WAIT_FOR_SIPI;
    /** Per vCPU: 1 if it must be woken at the next {@link #flushWakes}. */
    private final AtomicIntegerArray wakeDue;
    private volatile boolean anyWakeDue;

    public InterruptFabric(int vcpus, TimeSource clock, VCpuWaker[] wakers) {
        this.wakers = wakers.clone();
        this.pending = new AtomicIntegerArray(vcpus);
        this.processor = new AtomicIntegerArray(vcpus);
        this.wakeDue = new AtomicIntegerArray(vcpus);
        this.lapics = new LocalApic[vcpus];
        this.pic = new PicPair(lock, this::recompute);
        this.ioApic = new IoApic(lock, ioApicId(vcpus));
        for (int i = 0; i < vcpus; i++) {
            lapics[i] = new LocalApic(lock, clock, i, i == 0, this::recompute);
            lapics[i].setBus(this);
        }
        ioApic.setBus(this);
        recompute();
    }

    /** The IOAPIC's ID: the first one after the local APICs' 0..vcpus-1, where its 4 bits allow; else 15 (xAPIC systems ignore it). */
    public static int ioApicId(int vcpus) {
        return Math.min(Math.max(vcpus, 1), 15);
    }

    public PicPair pic() {
        return pic;
    }

    public IoApic ioApic() {
        return ioApic;
    }

    public LocalApic lapic(int vcpu) {
        return lapics[vcpu];
    }

    public int vcpus() {
        return lapics.length;
    }

    public void reset() {
        synchronized (lock) {
            pic.reset();
            ioApic.reset();
            for (LocalApic l : lapics) {
                l.reset();
            }
        }
    }

    /** The PIC's, IOAPIC's and local APICs' records of one instant. */
    public record Records(PicState pic, IoApicState ioApic, LocalApicState[] lapics) {
    }

    /**
     * Takes the controllers' records in one critical section. Host threads (device executors, the
     * timer thread) raise lines while a save runs; taken one by one, an IOAPIC delivery between the
     * local APICs' record and the IOAPIC's leaves a level pin with remote IRR set and its vector in
     * no APIC: after the restore nothing ever EOIs it and the pin stays deaf (a NIC's interrupts
     * stop; the driver's transmit watchdog fires).
     */
    public Records saveControllers() {
        synchronized (lock) {
            LocalApicState[] states = new LocalApicState[lapics.length];
            for (int i = 0; i < lapics.length; i++) {
                states[i] = lapics[i].saveState();
            }
            return new Records(pic.saveState(), ioApic.saveState(), states);
        }
    }

    /**
     * Loads the controllers' records in one critical section, so that no vCPU sees a half-restored
     * fabric, then recomputes every vCPU's interrupt output (wake-ups go out at {@link #flushWakes}).
     *
     * @throws IllegalArgumentException if the local APIC records do not fit these vCPUs (count, BSP)
     */
    public void restoreControllers(PicState picState, IoApicState ioApicState, LocalApicState[] lapicStates) {
        checkFits(lapicStates);
        synchronized (lock) {
            pic.restoreState(picState);
            ioApic.restoreState(ioApicState);
            for (int i = 0; i < lapics.length; i++) {
                lapics[i].restoreState(lapicStates[i]);
            }
            recompute();
        }
    }

    /**
     * Whether local APIC records fit these vCPUs: one per vCPU, vCPU 0's the BSP's — checked before
     * anything is restored, so that a refused state leaves the platform as it was.
     *
     * @throws IllegalArgumentException if they do not
     */
    public void checkFits(LocalApicState[] lapicStates) {
        if (lapicStates.length != lapics.length) {
            throw new IllegalArgumentException("platform state has " + lapicStates.length + " local APICs, this domain "
                    + lapics.length + " vCPUs");
        }
        for (int i = 0; i < lapicStates.length; i++) {
            boolean bspRecord = (lapicStates[i].baseMsr() & 1L << 8) != 0;
            if (bspRecord != (i == 0)) {
                throw new IllegalArgumentException("local APIC state " + i + (bspRecord ? " is" : " is not") + " the BSP's");
            }
        }
    }

    /** ISA IRQ {@code irq} < 16 goes to the PIC and to IOAPIC pin (IRQ0 -> pin 2, else same); GSIs >= 16 to the IOAPIC. */
    @Override
    public void set(int irq, boolean level) {
        if (irq < 0 || irq >= IoApic.PINS) {
            throw new IllegalArgumentException("no such interrupt line: " + irq);
        }
        synchronized (lock) {
            if (irq < 16) {
                pic.setIrq(irq, level);
                ioApic.setPin(irq == 0 ? 2 : irq, level);
            } else {
                ioApic.setPin(irq, level);
            }
        }
    }

    /** Lock-free: what the CPU polls at block boundaries. */
    public boolean interruptPending(int vcpu) {
        return pending.get(vcpu) != 0;
    }

    /** Lock-free: {@link #PROCESSOR_EVENT} / {@link #PROCESSOR_WAIT_FOR_SIPI} bits of {@code vcpu}. */
    public int processorState(int vcpu) {
        return processor.get(vcpu);
    }

    /** The INIT, SIPI or NMI {@code vcpu} must act on now (see {@link LocalApic#takeProcessorEvent}). */
    public int takeProcessorEvent(int vcpu, boolean nmiAllowed) {
        synchronized (lock) {
            int event = lapics[vcpu].takeProcessorEvent(nmiAllowed);
            recompute();
            return event;
        }
    }

    /** INTA for {@code vcpu}: the local APIC first, then the PIC through LINT0; -1 if nothing. */
    public int acknowledge(int vcpu) {
        synchronized (lock) {
            LocalApic lapic = lapics[vcpu];
            int vector = lapic.acknowledge();
            if (vector < 0 && vcpu == 0 && lapic.acceptsPicInterrupts() && pic.outputPending()) {
                vector = pic.acknowledge();
            }
            recompute();
            return vector;
        }
    }

    /** Runs under the lock after any state change. */
    private void recompute() {
        if (lapics == null || pic == null) {
            return; // still constructing
        }
        for (int i = 0; i < lapics.length; i++) {
            LocalApic lapic = lapics[i];
            if (lapic == null) {
                return;
            }
            boolean now = lapic.interruptDeliverable() || (i == 0 && lapic.acceptsPicInterrupts() && pic.outputPending());
            int before = pending.getAndSet(i, now ? 1 : 0);
            boolean event = lapic.processorEventPending();
            int state = (event ? PROCESSOR_EVENT : 0) | (lapic.waitingForSipi() ? PROCESSOR_WAIT_FOR_SIPI : 0);
            int stateBefore = processor.getAndSet(i, state);
            if (now && before == 0 || event && (stateBefore & PROCESSOR_EVENT) == 0) {
                wakeDue.set(i, 1);
                anyWakeDue = true;
            }
        }
    }

    /** Wakes vCPUs that got an interrupt; call after leaving any device code. Cheap when there is none. */
    public void flushWakes() {
        if (!anyWakeDue) {
            return;
        }
        anyWakeDue = false;
        for (int i = 0; i < wakers.length; i++) {
            if (wakeDue.getAndSet(i, 0) != 0 && wakers[i] != null) {
                wakers[i].wake();
            }
        }
    }

    /**
     * Routes a message to the APICs it addresses: the shorthand (self, all, all but self) or the
     * destination field, physical (an APIC ID; 0xff broadcasts) or logical (flat or cluster). A
     * destination no APIC answers to drops the message, as on hardware. Lowest priority goes to
     * the addressed APIC with the lowest task priority (the first such by vCPU on a tie).
     */
    @Override
    public void deliver(LocalApic source, int shorthand, boolean logical, int destination, int deliveryMode, int vector,
            boolean level) {
        LocalApic lowest = null;
        for (LocalApic target : lapics) {
            boolean hit = switch (shorthand) {
                case 1 -> target == source;
                case 2 -> true;
                case 3 -> target != source;
                default -> target.matches(logical, destination);
            };
            if (!hit) {
                continue;
            }
            if (deliveryMode == LocalApic.DM_LOWEST) {
                if (lowest == null || target.taskPriority() < lowest.taskPriority()) {
                    lowest = target;
                }
            } else {
                target.receive(deliveryMode, vector, level);
            }
        }
        if (lowest != null) {
            lowest.receive(deliveryMode, vector, level);
        }
    }

    @Override
    public void endOfInterrupt(int vector) {
        ioApic.endOfInterrupt(vector);
    }
}
