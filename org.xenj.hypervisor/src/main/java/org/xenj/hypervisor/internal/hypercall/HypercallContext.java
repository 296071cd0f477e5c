package org.xenj.hypervisor.internal.hypercall;

/**
 * One vCPU's hypercall environment: its domain, Xen vCPU state, guest-memory view and (when a CPU
 * runs it) registers. Reused for every hypercall of that vCPU: nothing is allocated per call.
 */
public final class HypercallContext {

    public final XenDomain domain;
    public final XenVcpu vcpu;
    public final GuestVirtualMemory memory;
    /** Null when no CPU is attached (tests, fuzzing): iret then answers -ENOSYS. */
    public GuestRegisters registers;
    /** Multicall nesting: a multicall inside a multicall is refused. */
    int multicallDepth;

    public HypercallContext(XenDomain domain, int vcpu, GuestRegisters registers) {
        this(domain, vcpu, registers, domain.view(vcpu));
    }

    /** With a view other than the domain's default (an HVM vCPU's walk of its own page tables). */
    public HypercallContext(XenDomain domain, int vcpu, GuestRegisters registers, GuestVirtualMemory memory) {
        this.domain = domain;
        this.vcpu = domain.vcpus[vcpu];
        this.memory = memory;
        this.registers = registers;
    }
}
