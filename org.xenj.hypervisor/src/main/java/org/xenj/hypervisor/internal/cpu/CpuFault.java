package org.xenj.hypervisor.internal.cpu;

/**
 * Thrown to unwind the interpreter when an instruction raises an exception. One preallocated,
 * stackless instance: the vector and error code live in the {@link Cpu} that threw it, so a
 * fault costs no allocation and no stack walk.
 */
final class CpuFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    static final CpuFault INSTANCE = new CpuFault();

    private CpuFault() {
        super("guest CPU exception", null, false, false);
    }
}
