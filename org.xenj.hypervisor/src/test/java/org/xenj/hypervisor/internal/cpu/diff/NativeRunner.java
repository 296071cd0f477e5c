package org.xenj.hypervisor.internal.cpu.diff;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs cases on the host CPU through the native runner ({@code src/test/native/diffrunner.c},
 * compiled with {@code gcc -m32} into {@code target/} on first use).
 */
final class NativeRunner {

    private static final Path SOURCE = Paths.get("src/test/native/diffrunner.c");
    private static final Path BINARY = Paths.get("target/diffrunner");

    private NativeRunner() {
    }

    static synchronized Path binary() throws IOException, InterruptedException {
        if (!Files.exists(SOURCE)) {
            throw new IllegalStateException("native runner source missing: " + SOURCE.toAbsolutePath()
                    + " (run the test from the org.xenj.hypervisor module directory)");
        }
        if (Files.exists(BINARY) && Files.getLastModifiedTime(BINARY).compareTo(Files.getLastModifiedTime(SOURCE)) > 0) {
            return BINARY;
        }
        Files.createDirectories(BINARY.getParent());
        Process p = new ProcessBuilder("gcc", "-m32", "-O2", "-fno-pie", "-no-pie", "-o", BINARY.toString(),
                SOURCE.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("cannot build the native runner with 'gcc -m32' (needs gcc-multilib): " + out);
        }
        return BINARY;
    }

    static List<DiffResult> run(List<DiffCase> cases) throws IOException, InterruptedException {
        Path bin = binary();
        ByteArrayOutputStream batch = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(16 + 8192 + 4096 + 256).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x31464458).putInt(cases.size());
        batch.write(b.array(), 0, b.position());
        for (DiffCase c : cases) {
            b.clear();
            b.putInt(0);
            for (int r : c.gpr) {
                b.putInt(r);
            }
            b.putInt(c.eflags);
            b.put(c.fpu);
            b.putInt(c.data.length).put(c.data);
            b.putInt(c.code.length).put(c.code);
            batch.write(b.array(), 0, b.position());
        }
        Process p = new ProcessBuilder(bin.toAbsolutePath().toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Thread writer = new Thread(() -> {
            try (OutputStream os = p.getOutputStream()) {
                batch.writeTo(os);
            } catch (IOException ignored) {
                // the reader reports the short output
            }
        });
        writer.start();
        List<DiffResult> results = new ArrayList<>(cases.size());
        try (InputStream is = p.getInputStream()) {
            DataInputStream in = new DataInputStream(is);
            byte[] fixed = new byte[8 + 32 + 8 + 108];
            for (DiffCase c : cases) {
                in.readFully(fixed);
                ByteBuffer r = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
                DiffResult res = new DiffResult();
                res.vector = r.getInt();
                res.errorCode = r.getInt();
                for (int i = 0; i < 8; i++) {
                    res.gpr[i] = r.getInt();
                }
                res.eflags = r.getInt();
                res.eip = r.getInt();
                r.get(res.fpu);
                res.data = new byte[c.data.length];
                in.readFully(res.data);
                results.add(res);
            }
        }
        writer.join();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("native runner failed, exit " + p.exitValue());
        }
        return results;
    }
}
