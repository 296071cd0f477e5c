package org.xenj.hypervisor.internal.cpu.jit;

/**
 * Translator settings, from system properties (off unless {@code -Dxenj.jit=true}):
 * <ul>
 * <li>{@code xenj.jit.threshold} (default 50): cache hits after which a block is compiled; 0 translates
 * every block when first seen, synchronously (tests: even code that runs once runs compiled);</li>
 * <li>{@code xenj.jit.sync} (default false): compile on the vCPU thread at once (tests, so that
 * the compiled code runs at the very next hit);</li>
 * <li>{@code xenj.jit.lockstep} (default false): every compiled block runs in a shadow (stores
 * buffered, nothing visible), then the interpreter runs the same instructions for real and the
 * two outcomes are compared: registers, EIP, EFLAGS, instruction count, fault, CR2 and every
 * byte the compiled code stored;</li>
 * <li>{@code xenj.jit.strict} (default false): a lockstep mismatch throws (tests fail at once);</li>
 * <li>{@code xenj.jit.queue} (default 256): pending compilations beyond this are dropped.</li>
 * </ul>
 */
public record JitOptions(boolean enabled, int threshold, boolean synchronous, boolean lockstep, boolean strict, int queue) {

    public static JitOptions fromSystemProperties() {
        boolean lockstep = Boolean.getBoolean("xenj.jit.lockstep");
        int threshold = Math.max(0, Integer.getInteger("xenj.jit.threshold", 50));
        return new JitOptions(Boolean.getBoolean("xenj.jit") || lockstep, threshold,
                threshold == 0 || Boolean.getBoolean("xenj.jit.sync"), lockstep,
                Boolean.getBoolean("xenj.jit.strict"), Math.max(1, Integer.getInteger("xenj.jit.queue", 256)));
    }
}
