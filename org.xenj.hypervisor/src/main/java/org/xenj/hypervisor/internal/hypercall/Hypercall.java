package org.xenj.hypervisor.internal.hypercall;

/** One entry of the hypercall table: arguments as the guest passed them (EBX, ECX, EDX, ESI, EDI); returns EAX. */
@FunctionalInterface
public interface Hypercall {
    int call(HypercallContext c, int a1, int a2, int a3, int a4, int a5);
}
