package org.xenj.hypervisor.internal.platform.apic;

/**
 * How local APICs and the IOAPIC reach each other: inter-processor interrupts, IOAPIC messages,
 * and EOIs of level-triggered vectors going back to the IOAPIC. Called with the fabric lock held.
 */
public interface ApicBus {

    /**
     * Delivers a fixed/lowest-priority interrupt message to the APICs that {@code destination}
     * selects ({@code logical} destination mode or physical), or as the ICR shorthand says.
     */
    void deliver(LocalApic source, int shorthand, boolean logical, int destination, int deliveryMode, int vector, boolean level);

    /** A level-triggered vector was EOI'd: the IOAPIC clears its remote IRR. */
    void endOfInterrupt(int vector);
}
