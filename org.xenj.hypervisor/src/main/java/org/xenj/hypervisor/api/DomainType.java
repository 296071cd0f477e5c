package org.xenj.hypervisor.api;

/** Xen's guest types, plus the built-in synthetic workload used to exercise schedulers. */
public enum DomainType {
    /** Unmodified OS on emulated PC hardware. */
    HVM,
    /** Paravirtualised kernel on Xen's x86_32 ABI, running in ring 1. */
    PV,
    /** PVH: HVM container entered at the kernel's PHYS32_ENTRY note. */
    PVH,
    /** Built-in workload (spin, idle, duty cycle) with no guest code; for scheduler tests and benches. */
    WORKLOAD,
    /** Domain 0 itself. */
    DOM0
}
