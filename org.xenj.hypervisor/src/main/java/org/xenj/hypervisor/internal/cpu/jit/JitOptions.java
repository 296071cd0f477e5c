package org.xenj.hypervisor.internal.cpu.jit;

/**
 * Translator settings, from system properties. The translator is on by default for every domain;
 * {@code -Dxenj.jit=false} turns it off for the whole hypervisor (every vCPU interprets), the
 * xl.cfg key {@code jit = 0} for one domain ({@link #configValue}).
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
 * <li>{@code xenj.jit.queue} (default 256): pending compilations beyond this are dropped;</li>
 * <li>{@code xenj.jit.chain} (default true): a compiled block runs its compiled successor on the
 * same code page directly, without going back through the block cache's lookup;</li>
 * <li>{@code xenj.jit.inPlace} (default true since 2026-12-07): compiled blocks run x87, string, bit-test,
 * MUL/DIV, CMPXCHG/XADD, XCHG-with-memory and flag instructions through the interpreter in place
 * ({@code Cpu.execRow}) instead of ending before them (jit8; {@code false} gives the translator
 * as before it, DESIGN-jit.md);</li>
 * <li>{@code xenj.jit.chainPages} (default true since 2026-12-07): chaining follows a compiled block
 * onto another code page (jit8).</li>
 * <li>{@code xenj.jit.loops} (default false: no gain measured, see BENCH-jit.md): a self-loop block (its taken branch jumps back to its own
 * start) goes round inside its compiled method, the registers kept in locals, instead of returning
 * and being chained to again; only with {@code xenj.jit.chain} (BENCH-jit.md "Self-loop blocks").</li>
 * <li>{@code xenj.jit.arith} (default true, JVM-wide, read once: {@code ArithEmitter.ARITH}): MUL/DIV r/m32, bit
 * tests and scans, double shifts, CMPXCHG/XADD and the flag instructions are translated instead of
 * run in place (BENCH-jit.md "cover");</li>
 * <li>{@code xenj.jit.opstats} (default false): per-opcode counts of what runs in place and what compiled
 * code cannot run, in the block-cache statistics ({@code cpu.OpStats}).</li>
 * </ul>
 */
public record JitOptions(boolean enabled, int threshold, boolean synchronous, boolean lockstep, boolean strict, int queue, boolean chain,
        boolean inPlace, boolean chainPages, boolean loops) {

    /** These options with the translator on (a domain's xl.cfg {@code jit = 1} over {@code -Dxenj.jit=false}). */
    public JitOptions on() {
        return new JitOptions(true, threshold, synchronous, lockstep, strict, queue, chain, inPlace, chainPages, loops);
    }

    public static JitOptions fromSystemProperties() {
        boolean lockstep = Boolean.getBoolean("xenj.jit.lockstep");
        int threshold = Math.max(0, Integer.getInteger("xenj.jit.threshold", 50));
        boolean on = !"false".equalsIgnoreCase(System.getProperty("xenj.jit", "true").trim());
        return new JitOptions(on || lockstep, threshold,
                threshold == 0 || Boolean.getBoolean("xenj.jit.sync"), lockstep,
                Boolean.getBoolean("xenj.jit.strict"), Math.max(1, Integer.getInteger("xenj.jit.queue", 256)),
                !"false".equalsIgnoreCase(System.getProperty("xenj.jit.chain", "true").trim()),
                Boolean.parseBoolean(System.getProperty("xenj.jit.inPlace", "true").trim()),
                Boolean.parseBoolean(System.getProperty("xenj.jit.chainPages", "true").trim()),
                Boolean.parseBoolean(System.getProperty("xenj.jit.loops", "false").trim()));
    }

    /** The xl.cfg key that turns the translator off (or on) for one domain. */
    public static final String CONFIG_KEY = "jit";

    /**
     * The value of the xl.cfg key {@code jit}: {@code null} (key absent: the hypervisor's default),
     * else true/false for {@code 1|0}, {@code true|false}, {@code on|off}, {@code yes|no}.
     *
     * @throws IllegalArgumentException for anything else, with a message naming the key and the accepted values
     */
    public static Boolean configValue(String value) {
        if (value == null) {
            return null;
        }
        String v = value.trim().toLowerCase(java.util.Locale.ROOT);
        if (v.startsWith("\"") && v.endsWith("\"") && v.length() >= 2) {
            v = v.substring(1, v.length() - 1).trim();
        }
        return switch (v) {
            case "1", "true", "on", "yes" -> Boolean.TRUE;
            case "0", "false", "off", "no" -> Boolean.FALSE;
            default -> throw new IllegalArgumentException("key '" + CONFIG_KEY + "': '" + value
                    + "' is not a boolean (1/0, true/false, on/off, yes/no)");
        };
    }
}
