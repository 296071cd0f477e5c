package org.xenj.hypervisor.internal.hypercall;

/**
 * The registers of a PV vCPU's {@code vcpu_guest_context.user_regs} (public/arch-x86/xen-x86_32.h),
 * selectors already moved from ring 0 to ring 1 as Xen does: what VCPUOP_initialise hands to the
 * vCPU's own thread, which loads them into its CPU before it first runs.
 */
public record PvVcpuStart(int eax, int ebx, int ecx, int edx, int esi, int edi, int ebp, int esp, int eip, int eflags, int cs,
        int ss, int ds, int es, int fs, int gs) {
}
