package org.xenj.hypervisor.internal.cpu;

/**
 * Lets the platform adjust CPUID results, e.g. the PV/PVHVM support answering the hypervisor
 * leaves 0x40000000+ ("XenVMMXenVMM") and setting the hypervisor-present bit of leaf 1.
 */
@FunctionalInterface
public interface CpuidHook {

    /**
     * Called after the CPU computed its own answer for {@code leaf}/{@code subleaf} (zeros for a leaf
     * it does not know) in {@code regs} = {EAX, EBX, ECX, EDX}; may change them in place.
     */
    void adjust(int leaf, int subleaf, int[] regs);
}
