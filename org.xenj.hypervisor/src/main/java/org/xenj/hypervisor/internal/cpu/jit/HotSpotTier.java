package org.xenj.hypervisor.internal.cpu.jit;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Which of HotSpot's compilers compiles the translated blocks. By default only C1: the JVM adds a
 * compiler directive, at the first translator's start, that excludes the blocks' classes from C2,
 * so HotSpot's tiered policy leaves each hot block at C1's optimised tier (no profiling).
 *
 * <p>Why: a guest kernel has thousands of hot blocks, each its own class. C2 spent 100-250 ms on
 * each (40-65 KB of machine code per block; measured with JFR's compilation events on the Debian
 * guest), and with two vCPUs on a 2-core host its thread was compiling for 12.6 s of a 13.6 s
 * workload phase: a third thread competing with the vCPU threads for two cores. With the blocks
 * at C1 the same phase had 0.76 s of compiling, and the blocks ran about 10 % fewer guest
 * instructions per CPU-second. The interpreter and the rest of the hypervisor still get C2.
 *
 * <p>{@code -Dxenj.jit.c2=true} leaves the blocks to C2 as well (comparisons). The directive is
 * added through the platform's DiagnosticCommand MBean ({@code jcmd Compiler.directives_add}); on a
 * JVM without it (not HotSpot) nothing happens and the reason is logged.
 */
public final class HotSpotTier {

    private static final System.Logger LOG = System.getLogger(HotSpotTier.class.getName());
    private static boolean done;

    private HotSpotTier() {
    }

    /** Adds the directive once per JVM (later calls do nothing). */
    public static synchronized void apply() {
        if (done) {
            return;
        }
        done = true;
        if (Boolean.getBoolean("xenj.jit.c2")) {
            return;
        }
        try {
            Path file = Files.createTempFile("xenj-jit-directives", ".json");
            try {
                String pattern = BlockCompiler.CLASS_NAME + "*.*";
                Files.writeString(file, "[ { match: [\"" + pattern + "\"], c2: { Exclude: true } } ]\n", StandardCharsets.US_ASCII);
                MBeanServer server = ManagementFactory.getPlatformMBeanServer();
                Object out = server.invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
                        new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
                LOG.log(System.Logger.Level.DEBUG, "translated blocks left to C1: " + String.valueOf(out).trim());
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (Exception | LinkageError e) {
            LOG.log(System.Logger.Level.INFO, "translated blocks stay with HotSpot's default tiers (no compiler directive: " + e + ")");
        }
    }
}
