package org.xenj.hypervisor.internal.platform.pci;

import java.util.function.Consumer;

import org.xenj.hypervisor.internal.platform.IrqLine;

/**
 * PIIX3's four PCI interrupt links PIRQA#-PIRQD#: each is the wired-OR of the INTx# pins swizzled
 * onto it and, when routed, drives one ISA IRQ. Links routed to the same IRQ are wired-OR'ed too
 * (the firmware routes A and B to IRQ 10, C and D to 11): the IRQ is high while any of its links
 * is, so one device lowering its pin never drops another's request on the shared line. Only IRQs
 * 3-7, 9-12, 14 and 15 are routable, as on the PIIX3; anything else leaves the link unrouted with
 * a log line. Caller holds the bus lock.
 */
final class PirqRouter {

    static final int LINKS = 4;
    private static final int ROUTABLE = 0b1101_1110_1111_1000; // IRQs 3-7, 9-12, 14, 15

    private final IrqLine irqs;
    private final Consumer<String> log;
    private final int[] route = { -1, -1, -1, -1 };
    /** Number of asserted pins per link. */
    private final int[] asserted = new int[LINKS];

    PirqRouter(IrqLine irqs, Consumer<String> log) {
        this.irqs = irqs;
        this.log = log;
    }

    /** The link INTx pin {@code pin} (1..4) of device {@code device} reaches (PIIX3 swizzle). */
    static int link(int device, int pin) {
        return (device + pin - 1) & 3;
    }

    static boolean routable(int irq) {
        return irq >= 0 && irq < 16 && (ROUTABLE >>> irq & 1) != 0;
    }

    int route(int link) {
        return route[link];
    }

    void setRoute(int link, int irq) {
        if (link < 0 || link >= LINKS) {
            log.accept("PCI: PIRQ link " + link + " does not exist; route ignored");
            return;
        }
        int next = irq;
        if (irq != -1 && !routable(irq)) {
            log.accept("PCI: PIRQ" + (char) ('A' + link) + " routed to IRQ " + irq + ", which the PIIX3 cannot drive: unrouted");
            next = -1;
        }
        int before = route[link];
        if (before == next) {
            return;
        }
        boolean oldIrqWas = irqAsserted(before), newIrqWas = irqAsserted(next);
        route[link] = next;
        drive(before, oldIrqWas);
        drive(next, newIrqWas);
    }

    void assertPin(int link, boolean level) {
        int irq = route[link];
        boolean was = irqAsserted(irq);
        asserted[link] = Math.max(0, asserted[link] + (level ? 1 : -1));
        drive(irq, was);
    }

    /** Whether any link routed to {@code irq} is asserted; false for -1 (unrouted). */
    private boolean irqAsserted(int irq) {
        if (irq < 0) {
            return false;
        }
        for (int l = 0; l < LINKS; l++) {
            if (route[l] == irq && asserted[l] > 0) {
                return true;
            }
        }
        return false;
    }

    /** Sets {@code irq} to its links' OR if that differs from {@code was}. */
    private void drive(int irq, boolean was) {
        boolean now = irqAsserted(irq);
        if (irq >= 0 && now != was) {
            irqs.set(irq, now);
        }
    }

    /**
     * Drives every routed IRQ to its links' level, low ones too: after a restore, whose controller
     * record may hold an IRQ high that no restored device asserts any more.
     */
    void driveAll() {
        for (int l = 0; l < LINKS; l++) {
            if (route[l] >= 0) {
                irqs.set(route[l], irqAsserted(route[l]));
            }
        }
    }

    void reset() {
        for (int l = 0; l < LINKS; l++) {
            setRoute(l, -1);
        }
    }
}
