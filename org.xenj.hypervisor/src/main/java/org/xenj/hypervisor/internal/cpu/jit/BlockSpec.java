package org.xenj.hypervisor.internal.cpu.jit;

/**
 * What one block was decoded under, and its instructions: the translation is specialised on it.
 * {@code flatSegments} has a bit per segment register that was flat (base 0, every offset readable
 * and writable) when the block became hot; the compiled code checks that again on entry (a guard)
 * and then uses offsets as linear addresses. {@code stack32} likewise for SS's B bit.
 * {@code ordered}: the domain has several vCPUs, so guest loads and stores use the CPU's ordered
 * accessors (x86 TSO against the JIT compiler's reordering); a vCPU drops all its translations
 * when this changes, so it needs no guard. {@code inPlace}: instructions the translator does not
 * handle but {@code BlockCompiler.interpretable} names run through the interpreter inside the
 * compiled code ({@code xenj.jit.inPlace}, never with {@code ordered}). {@code loops}: a direct
 * branch back to the block's own start goes round inside the compiled method ({@code xenj.jit.loops}).
 */
public record BlockSpec(int startEip, GuestInsn[] insns, int flatSegments, boolean stack32, boolean ordered, boolean inPlace,
        boolean loops) {
}
