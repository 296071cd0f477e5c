package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The host's own tools as oracles (mkfs.ext4, e2fsck, debugfs, qemu-img, genisoimage), and digests. */
final class HostTools {

    private HostTools() {
    }

    /** The tool's path, looking in /usr/sbin and /sbin too (e2fsprogs lives there); null if absent. */
    static String which(String tool) {
        for (String p : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin").split(":")) {
            if (!p.isEmpty() && Files.isExecutable(Path.of(p, tool))) {
                return Path.of(p, tool).toString();
            }
        }
        return null;
    }

    /** Runs a tool to completion and returns its stdout; a non-zero exit fails the test (with stderr). */
    static String run(String... cmd) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of(cmd));
        String path = which(cmd[0]);
        if (path != null) {
            c.set(0, path);
        }
        Process p = new ProcessBuilder(c).start();
        java.util.concurrent.CompletableFuture<String> err = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + out + err.join());
        return out;
    }

    /** Runs a command that may fail: its output, or "exit N: output" (never throws on a failed exit). */
    static String sh(int timeoutSeconds, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "exit timeout: " + String.join(" ", cmd);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }

    static Path sparse(Path p, long mib) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(mib << 20);
        }
        return p;
    }

    /** A sparse raw image of {@code mib} MiB with an ext4 file system made by the host's mkfs.ext4. */
    static Path ext4(Path p, long mib) throws IOException, InterruptedException {
        sparse(p, mib);
        run("mkfs.ext4", "-q", "-F", p.toString());
        return p;
    }

    /** e2fsck -fn must find nothing to fix (it exits non-zero otherwise); returns its report on one line. */
    static String fsck(Path image) throws IOException, InterruptedException {
        return run("e2fsck", "-fn", image.toString()).replaceAll("\\s+", " ").trim();
    }

    static String debugfsCat(Path image, String file) throws IOException, InterruptedException {
        return run("debugfs", "-R", "cat " + file, image.toString());
    }

    /** The md5 of a file inside an ext4 image, as debugfs dumps it. */
    static String debugfsMd5(Path image, String file, Path scratch) throws Exception {
        Path out = scratch.resolve(image.getFileName() + file.replace('/', '_'));
        run("debugfs", "-R", "dump " + file + " " + out, image.toString());
        return md5(Files.readAllBytes(out));
    }

    static String md5(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
    }

    static String sha256(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The md5 md5sum printed for {@code file} in a guest's output. */
    static String md5In(String text, String file) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9a-f]{32})\\s+" + java.util.regex.Pattern.quote(file)).matcher(text);
        assertTrue(m.find(), "no md5sum of " + file + " in:\n" + text);
        return m.group(1);
    }
}
