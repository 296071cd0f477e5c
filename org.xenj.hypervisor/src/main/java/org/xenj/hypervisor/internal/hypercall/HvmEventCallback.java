package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.xenabi.XenAbi;

/**
 * How an HVM domain's event upcalls reach its CPU, as the guest chose with
 * {@code HVM_PARAM_CALLBACK_IRQ} (hvm/params.h: bits 63:56 are the type). Type 2 (vector): while
 * vCPU n's {@code evtchn_upcall_pending} is set, vCPU n takes that vector directly, ahead of the
 * PIC and local APIC and without an APIC EOI, as Xen's domain-wide callback vector does. Type 0
 * (GSI): vCPU 0's {@code evtchn_upcall_pending} drives the GSI's level (asserted when set,
 * dropped once the guest cleared it). Type 1 (PCI INTx) needs the platform PCI device, which we
 * do not have: it is stored and not raised.
 */
public final class HvmEventCallback {

    /** Raises or lowers a GSI of the domain's interrupt fabric. */
    @FunctionalInterface
    public interface GsiLine {
        void set(int gsi, boolean level);
    }

    static final int TYPE_GSI = 0;
    static final int TYPE_VECTOR = 2;
    private static final int MAX_GSI = 48;

    private final XenDomain domain;
    private final GsiLine gsiLine;
    /** The GSI we assert, -1 when none is asserted (touched under this object's lock). */
    private volatile int assertedGsi = -1;

    HvmEventCallback(XenDomain domain, GsiLine gsiLine) {
        this.domain = domain;
        this.gsiLine = gsiLine;
    }

    private long via() {
        return domain.hvmParams[XenAbi.HVM_PARAM_CALLBACK_IRQ];
    }

    /** The callback vector if the guest chose one (type 2), else -1. */
    public int vector() {
        long via = via();
        return via >>> 56 == TYPE_VECTOR ? (int) (via & 0xff) : -1;
    }

    /**
     * Whether vCPU {@code vcpu} must take the callback vector now: a vector is configured and the
     * vCPU's upcall is pending. Called once per interrupt check; one array read when unused.
     */
    public boolean vectorPending(int vcpu) {
        long via = via();
        return via != 0 && via >>> 56 == TYPE_VECTOR && (via & 0xff) >= 0x10 && domain.events.upcallPending(vcpu);
    }

    /**
     * Brings the GSI level in line with vCPU 0's upcall_pending (called when an event is marked
     * pending and when the CPU checks for interrupts while we hold the line up).
     */
    public synchronized void syncGsi() {
        long via = via();
        int want = via >>> 56 == TYPE_GSI && via > 0 && via < MAX_GSI && domain.events.upcallPending(0) ? (int) via : -1;
        if (want == assertedGsi) {
            return;
        }
        if (assertedGsi >= 0) {
            gsiLine.set(assertedGsi, false);
        }
        assertedGsi = want;
        if (want >= 0) {
            gsiLine.set(want, true);
        }
    }

    /** Whether a GSI is held up for the guest (cheap check for the interrupt path). */
    public boolean gsiAsserted() {
        return assertedGsi >= 0;
    }
}
