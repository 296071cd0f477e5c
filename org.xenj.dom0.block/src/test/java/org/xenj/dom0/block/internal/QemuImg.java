package org.xenj.dom0.block.internal;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs Debian's qemu-img / qemu-io, the oracle of the interop tests. scripts/setup-debian.sh
 * installs qemu-utils, so in CI these tests run; on a machine without it they are skipped, saying
 * why.
 */
public final class QemuImg {

    public record Result(int exitCode, String output) {
    }

    private QemuImg() {
    }

    public static void assumeAvailable() {
        assumeTrue(available("qemu-img") && available("qemu-io"),
                "qemu-img/qemu-io not found: install Debian's qemu-utils (scripts/setup-debian.sh does)");
    }

    private static boolean available(String tool) {
        try {
            return run(tool, "--version").exitCode == 0;
        } catch (IOException e) {
            return false;
        }
    }

    public static Result run(String... command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd + " timed out");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(cmd + " interrupted", e);
        }
    }

    /** Runs and requires exit code 0; returns the output. */
    public static String ok(String... command) throws IOException {
        Result r = run(command);
        if (r.exitCode != 0) {
            throw new AssertionError(String.join(" ", command) + " exited " + r.exitCode + ":\n" + r.output);
        }
        return r.output;
    }
}
