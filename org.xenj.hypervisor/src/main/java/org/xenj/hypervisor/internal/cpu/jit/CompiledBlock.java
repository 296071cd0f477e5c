package org.xenj.hypervisor.internal.cpu.jit;

import org.xenj.hypervisor.internal.cpu.Cpu;

/**
 * A guest block compiled to JVM bytecode: a hidden class extending this one (so the class unloads
 * once the cache drops its only instance). {@link #run} executes the block's instructions on the
 * vCPU with the interpreter's semantics, or does nothing and returns false when a guard fails (the
 * segments or stack size are no longer what the block was compiled under, or fewer instructions
 * than the block holds remain in the slice).
 */
public abstract class CompiledBlock {

    /** Size of the class file it was defined from (statistics); set once before the block is published. */
    private int classBytes;

    protected CompiledBlock() {
    }

    public final int classBytes() {
        return classBytes;
    }

    final void classBytes(int n) {
        classBytes = n;
    }

    public abstract boolean run(Cpu cpu, int max);
}
