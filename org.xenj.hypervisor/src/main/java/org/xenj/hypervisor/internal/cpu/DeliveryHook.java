package org.xenj.hypervisor.internal.cpu;

/**
 * Consulted before the CPU delivers an exception or software interrupt through the IDT. A PV
 * platform uses it to bounce the event to the guest's virtual trap table instead.
 */
@FunctionalInterface
public interface DeliveryHook {

    /** Source kinds for {@link #deliver}. */
    int EXCEPTION = 0;
    int SOFTWARE_INT = 1;
    int EXTERNAL_INT = 2;

    /**
     * @param vector    the vector
     * @param kind      {@link #EXCEPTION}, {@link #SOFTWARE_INT} (INT n / INT3 / INTO) or {@link #EXTERNAL_INT}
     * @param errorCode the error code, or -1 when the vector has none
     * @return true if the hook delivered the event itself (the CPU then does nothing more); EIP is the
     *         faulting instruction for faults, the next instruction for traps and software interrupts
     */
    boolean deliver(Cpu cpu, int vector, int kind, int errorCode);
}
