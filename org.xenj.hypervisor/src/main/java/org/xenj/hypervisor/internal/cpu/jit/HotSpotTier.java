package org.xenj.hypervisor.internal.cpu.jit;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Which of HotSpot's compilers compiles the translated blocks. Blocks of domains with several vCPUs
 * ({@link BlockCompiler#SMP_CLASS_NAME}) stay at C1: the JVM gets a compiler directive, at the first
 * translator's start, that excludes their classes from C2, so HotSpot's tiered policy leaves each
 * hot block at C1's optimised tier (no profiling). Blocks of single-vCPU domains keep C2.
 *
 * <p>Why: a guest kernel has thousands of hot blocks, each its own class. C2 spent 100-250 ms on
 * each (40-65 KB of machine code per block; JFR's compilation events on the Debian guest), and
 * with two vCPUs on a 2-core host its thread was compiling for 12.6 s of a 13.6 s workload phase:
 * a third busy thread for two cores. On an idle 2-core host, two md5sum jobs in a 2-vCPU guest took
 * 3.4 s with the blocks at C1 and 3.6 s with C2 (HotSpot compiling 0.14 s against 2.52 s of the
 * phase); with one vCPU, where C2 has the second core to itself, C2's faster code wins: 5.6 s
 * against 6.5 s at C1 (191 against 161 M guest instructions per CPU-second).
 *
 * <p>{@code -Dxenj.jit.c2=true} leaves every block to C2 (comparisons). The directive is added
 * through the platform's DiagnosticCommand MBean ({@code jcmd Compiler.directives_add}); on a JVM
 * without it (not HotSpot) nothing happens and the reason is logged.
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
                String pattern = BlockCompiler.SMP_CLASS_NAME + "*.*";
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
