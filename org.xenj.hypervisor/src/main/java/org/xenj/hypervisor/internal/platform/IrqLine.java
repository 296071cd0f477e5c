package org.xenj.hypervisor.internal.platform;

/** An interrupt input a device drives: ISA IRQ 0..15 or a GSI above. */
@FunctionalInterface
public interface IrqLine {

    void set(int irq, boolean level);

    /** An edge-triggered pulse: raise then lower. */
    default void pulse(int irq) {
        set(irq, true);
        set(irq, false);
    }
}
