package org.xenj.hypervisor.internal.cpu;

/**
 * Receives hypercalls: {@code int 0x82} from a paravirtualised ring-1 kernel, and VMCALL/VMMCALL
 * from an HVM guest. Installed by the PV / PVHVM support; without a handler the CPU behaves as
 * hardware does (#GP for an undelivered int 0x82 with DPL 0, #UD for VMCALL/VMMCALL).
 */
@FunctionalInterface
public interface HypercallHandler {

    /** Hypercall kinds passed to {@link #hypercall}. */
    int INT82 = 0x82;
    int VMCALL = 1;

    /**
     * Handles a hypercall. Arguments are in the CPU's registers; the handler writes the result to
     * EAX. EIP already points past the instruction. Return false to let the CPU raise the exception
     * hardware would (the instruction is then restarted-faulting as usual).
     */
    boolean hypercall(Cpu cpu, int kind);
}
