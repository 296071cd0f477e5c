package org.xenj.dom0.blkback.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.xenj.dom0.blkback.internal.TestFrontend.assertOk;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durability test: {@code kill -9} the JVM during a guest's write storm, restart,
 * re-attach — every write the guest got a completion for before a completed flush is in the
 * image, and {@code qemu-img check} finds no corruption (leaked clusters are fine).
 *
 * <p>Each round makes an image with {@code qemu-img create} (qcow2 with 64 KiB and 4 KiB
 * clusters, and raw), starts {@link CrashStormChild} in a child JVM (blkback and the block layer
 * exactly as a guest reaches them, a frontend keeping the ring full of writes with FLUSH and FUA
 * requests among them), reads the child's {@code durable <gen>} claims, and after a random 1–3 s
 * sends SIGKILL ({@link Process#destroyForcibly()}; the exit status 137 = 128 + 9 proves it was
 * the signal). Then: {@code qemu-img check} (exit 0, or 3 = leaks only); the image re-attached
 * through a new blkback and frontend in this JVM, every sector of the disk read over the ring and
 * checked against the replayed storm (each sector holds exactly the newest durable write to it
 * or a later write, whole — never older data, never a torn or foreign sector); new writes,
 * a flush and read-back on the re-attached disk; detach, and {@code qemu-img check} again.
 *
 * <p>{@code -Dxenj.blkback.crash.seed=} repeats a run's storms and kill times (not its thread
 * timing); {@code -Dxenj.blkback.crash.rounds=} sets the rounds per image kind (default 2, six
 * kills, about 25 s); {@code -Dxenj.blkback.crash.kinds=qcow2-64k,qcow2-4k,raw} picks the kinds.
 * A failed round keeps its images in {@code target/crash-failed}.
 */
class BlkbackCrashTest {

    static final long DISK_BYTES = 16L << 20;
    /** Generations past the last durable one that the child may have had in flight or acknowledged. */
    static final int REPLAY_MARGIN = 100_000;

    @TempDir
    Path tmp;

    record Run(int exitCode, String output) {
    }

    static Run run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(Arrays.toString(command) + " timed out");
        }
        return new Run(p.exitValue(), out.strip().replace('\n', ' '));
    }

    static boolean haveQemuImg() {
        try {
            return run("qemu-img", "--version").exitCode() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** What the child said, as the reader thread saw it. */
    static final class ChildOutput {
        volatile String ready;
        volatile long durable;
        volatile long acked;
        volatile long submitted;
        volatile String error;
        final List<String> other = new ArrayList<>();
    }

    @Test
    void killDashNineDuringAWriteStormLosesNoFlushedWrite() throws Exception {
        if (!haveQemuImg()) {
            System.out.println("[crash] skipped: qemu-img not found (Debian's qemu-utils; scripts/setup-debian.sh installs it)");
            Assumptions.abort("qemu-img not found: install Debian's qemu-utils (scripts/setup-debian.sh does)");
        }
        long seed = Long.getLong("xenj.blkback.crash.seed", System.nanoTime() & 0xffff_ffffL);
        int rounds = Integer.getInteger("xenj.blkback.crash.rounds", 2);
        System.out.println("[crash] seed 0x" + Long.toHexString(seed) + ", " + rounds
                + " rounds each of qcow2 (64 KiB clusters), qcow2 (4 KiB clusters), raw");
        Random rnd = new Random(seed);
        long start = System.nanoTime();
        int n = 0;
        for (int round = 0; round < rounds; round++) {
            for (String kind : System.getProperty("xenj.blkback.crash.kinds", "qcow2-64k,qcow2-4k,raw").split(",")) {
                long stormSeed = rnd.nextLong();
                int killAfterMs = 1000 + rnd.nextInt(2001);
                try {
                    round(n, kind, stormSeed, killAfterMs, 0);
                } catch (AssertionError e) {
                    // keep the evidence: the image as the kill left it (and as the re-attach changed it)
                    Path keep = Path.of("target", "crash-failed");
                    Files.createDirectories(keep);
                    for (Path p : Files.newDirectoryStream(tmp)) {
                        Files.copy(p, keep.resolve(p.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                    throw new AssertionError("round " + n + " (" + kind + ", storm seed " + stormSeed + ", kill after "
                            + killAfterMs + " ms): " + e.getMessage() + " [images kept in " + keep.toAbsolutePath() + "]", e);
                }
                n++;
            }
        }
        System.out.printf("[crash] %d rounds in %.1f s, every durable write found%n", n, (System.nanoTime() - start) / 1e9);
    }

    /**
     * The control: the same storm without a kill, stopped after 1,000 writes with nothing in
     * flight. Every sector must then hold exactly the newest write to it, so a wrong model or a
     * reordering that has nothing to do with the crash shows up here first.
     */
    @Test
    void withoutAKillEverySectorHoldsItsNewestWrite() throws Exception {
        if (!haveQemuImg()) {
            System.out.println("[crash] skipped: qemu-img not found (Debian's qemu-utils; scripts/setup-debian.sh installs it)");
            Assumptions.abort("qemu-img not found: install Debian's qemu-utils (scripts/setup-debian.sh does)");
        }
        round(100, "qcow2-4k", 42, 0, 1000);
        round(101, "raw", 43, 0, 1000);
    }

    private void round(int n, String kind, long stormSeed, int killAfterMs, long stopAt) throws Exception {
        long roundStart = System.nanoTime();
        boolean qcow2 = kind.startsWith("qcow2");
        String format = qcow2 ? "qcow2" : "raw";
        Path img = tmp.resolve("crash" + n + "." + format);
        Run created = qcow2
                ? run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=" + (kind.equals("qcow2-4k") ? 4096 : 65536),
                        img.toString(), Long.toString(DISK_BYTES))
                : run("qemu-img", "create", "-q", "-f", "raw", img.toString(), Long.toString(DISK_BYTES));
        assertEquals(0, created.exitCode(), created.output());

        // ---- the storm, and the kill
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path stderr = tmp.resolve("child" + n + ".err");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                CrashStormChild.class.getName(), img.toString(), format, Long.toString(stormSeed)));
        if (stopAt > 0) {
            cmd.add(Long.toString(stopAt));
        }
        Process child = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
        ChildOutput said = new ChildOutput();
        Thread reader = new Thread(() -> readChild(child, said), "crash-child-reader");
        reader.setDaemon(true);
        reader.start();
        long durableSeen;
        long ackedSeen;
        long submittedSeen;
        long durable;
        long ranMs = killAfterMs;
        try {
            long readyBy = System.currentTimeMillis() + 60_000;
            while (said.ready == null && child.isAlive() && System.currentTimeMillis() < readyBy) {
                Thread.sleep(5);
            }
            assertTrue(said.ready != null, "child never became ready; stderr: " + Files.readString(stderr) + " stdout: " + said.other);
            if (stopAt > 0) {
                long t0 = System.nanoTime();
                assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not stop");
                ranMs = (System.nanoTime() - t0) / 1_000_000;
                reader.join(10_000);
                assertEquals(0, child.exitValue(), "child: " + said.error + " " + said.other + " stderr: " + Files.readString(stderr));
                durableSeen = durable = stopAt; // nothing in flight and the process ended normally: every write is in the file
                ackedSeen = said.acked;
                submittedSeen = said.submitted;
            } else {
                Thread.sleep(killAfterMs);
                assertTrue(child.isAlive(), "child ended before the kill: " + said.error + " " + said.other + " stderr: "
                        + Files.readString(stderr));
                durableSeen = said.durable;
                ackedSeen = said.acked;
                submittedSeen = said.submitted;
                child.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no close(), no last flush
                assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child did not die");
                assertEquals(128 + 9, child.exitValue(), "the child must have died of SIGKILL");
                reader.join(10_000);
                assertTrue(said.error == null, "a request failed in the child: " + said.error);
                durable = said.durable; // lines still in the pipe were claims made before the kill too
                assertTrue(durable > 0, "no flush completed in " + killAfterMs + " ms: the test observed nothing");
            }
        } finally {
            if (child.isAlive()) { // a failed check must not leave a storm running
                child.destroyForcibly();
                child.waitFor(10, TimeUnit.SECONDS);
            }
        }
        long sectors = Long.parseLong(said.ready.split(" ")[2]);
        assertEquals(DISK_BYTES / 512, sectors);

        // ---- qemu-img check: no corruption (exit 2), leaks (3) are fine
        String check1 = "n/a (raw)";
        if (qcow2) {
            Run c = run("qemu-img", "check", img.toString());
            assertTrue(c.exitCode() == 0 || c.exitCode() == 3, "qemu-img check after the kill: exit " + c.exitCode() + ": " + c.output());
            assertTrue(!c.output().contains("ERROR"), c.output());
            check1 = "exit " + c.exitCode() + " (" + summary(c.output()) + ")";
        }

        // ---- replay the storm: the newest durable generation of every sector
        WriteStorm storm = new WriteStorm(stormSeed, sectors);
        long[] durableGen = new long[(int) sectors];
        List<WriteStorm.Op> writes = new ArrayList<>();
        writes.add(null); // generation 0: never written
        while (storm.gen() < durable + REPLAY_MARGIN) {
            WriteStorm.Op op = storm.next();
            if (op.kind() == WriteStorm.Kind.FLUSH) {
                continue;
            }
            writes.add(op);
            if (op.gen() <= durable) {
                Arrays.fill(durableGen, (int) op.sector(), (int) (op.sector() + op.sectors()), op.gen());
            }
        }

        // ---- re-attach and read every sector over the ring
        long newer = 0;
        long durableSectors = 0;
        long maxGenFound = 0;
        String check2 = "n/a (raw)";
        try (AttachedDisk disk = new AttachedDisk(img, format)) {
            TestFrontend f = disk.frontend;
            f.reuseIndirectPages = true;
            int[][] segs = new int[Blkif.MAX_INDIRECT_SEGMENTS][];
            for (int i = 0; i < segs.length; i++) {
                segs[i] = new int[] {f.grantPage(false), 0, 7};
            }
            int perRequest = segs.length * Blkif.SECTORS_PER_PAGE;
            byte[] chunk = new byte[perRequest * Blkif.SECTOR_SIZE];
            for (long s0 = 0; s0 < sectors; s0 += perRequest) {
                assertOk(f.one(f.indirect(Blkif.OP_READ, s0, s0, segs), Blkif.OP_READ));
                for (int i = 0; i < segs.length; i++) {
                    System.arraycopy(disk.xen.grants.get(segs[i][0]).page, 0, chunk, i * 4096, 4096);
                }
                for (int i = 0; i < perRequest; i++) {
                    long s = s0 + i;
                    long g = WriteStorm.generationOf(chunk, i * Blkif.SECTOR_SIZE, s);
                    long want = durableGen[(int) s];
                    if (g < 0) {
                        fail("sector " + s + " holds bytes no write put there (torn, stale or misplaced); newest durable write: gen " + want);
                    }
                    if (stopAt > 0 && g != want) {
                        fail("sector " + s + " should hold " + writes.get((int) want) + ", holds " + (g == 0 ? "zeros" : writes.get((int) g)));
                    }
                    if (g < want) {
                        fail("sector " + s + " lost durable write " + writes.get((int) want) + " (durable up to gen " + durable + "), holds "
                                + (g == 0 ? "zeros" : writes.get((int) g)));
                    }
                    if (g > 0) {
                        WriteStorm.Op w = g < writes.size() ? writes.get((int) g) : null;
                        assertTrue(w != null && s >= w.sector() && s < w.sector() + w.sectors(),
                                "sector " + s + " holds gen " + g + ", which did not write there");
                    }
                    durableSectors += want > 0 ? 1 : 0;
                    newer += g > want ? 1 : 0;
                    maxGenFound = Math.max(maxGenFound, g);
                }
            }
            writesStillWork(f, sectors, new Random(stormSeed));
        }
        if (qcow2) {
            Run c = run("qemu-img", "check", img.toString());
            assertTrue(c.exitCode() == 0 || c.exitCode() == 3, "qemu-img check after re-attach: exit " + c.exitCode() + ": " + c.output());
            assertTrue(!c.output().contains("ERROR"), c.output());
            check2 = "exit " + c.exitCode();
        }
        System.out.printf("[crash] round %d %s: " + (stopAt > 0 ? "stopped (no kill) after %d ms" : "killed %d ms after ready")
                + " (the child last said: %d submitted, %d acked,"
                + " durable up to gen %d); durable at death gen %d; re-attached: %d sectors of durable writes all there, %d"
                + " sectors hold a later (unflushed) write, newest gen on disk %d; 16 new writes + flush read back; qemu-img"
                + " check after kill: %s, after re-attach: %s; round took %.1f s%n", n, kind, ranMs, submittedSeen, ackedSeen, durableSeen, durable,
                durableSectors, newer, maxGenFound, check1, check2,
                (System.nanoTime() - roundStart) / 1e9);
    }

    /** qemu-img check's verdict without its per-cluster lines. */
    static String summary(String output) {
        return output.replaceAll("Leaked cluster \\d+ refcount=\\d+ reference=\\d+ *", "").strip();
    }

    /** After the re-attach: 16 writes of fresh generations, a flush, and each read back. */
    private static void writesStillWork(TestFrontend f, long sectors, Random rnd) throws Exception {
        int[] page = new int[16];
        long[] at = new long[16];
        for (int i = 0; i < 16; i++) {
            page[i] = f.grantPage(false);
            at[i] = (long) i * (sectors / 16) + rnd.nextInt((int) (sectors / 16) - 8);
            byte[] p = f.xen.grants.get(page[i]).page;
            for (int s = 0; s < 8; s++) {
                WriteStorm.fill(p, s * 512, at[i] + s, 900_000_000L + i);
            }
            f.queue(f.rw(Blkif.OP_WRITE, 5000 + i, at[i], new int[][] {{page[i], 0, 7}}));
        }
        f.push();
        for (long[] r : f.responses(16)) {
            assertEquals(Blkif.RSP_OKAY, r[2], "write after re-attach, request " + r[0]);
        }
        assertOk(f.one(f.rw(Blkif.OP_FLUSH_DISKCACHE, 6000, 0, new int[0][]), Blkif.OP_FLUSH_DISKCACHE));
        int back = f.grantPage(false);
        for (int i = 0; i < 16; i++) {
            assertOk(f.one(f.rw(Blkif.OP_READ, 7000 + i, at[i], new int[][] {{back, 0, 7}}), Blkif.OP_READ));
            assertArrayEquals(f.xen.grants.get(page[i]).page, f.xen.grants.get(back).page, "write " + i + " after re-attach");
        }
    }

    private static void readChild(Process child, ChildOutput said) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] w = line.split(" ");
                if (line.startsWith("durable ") && w.length == 6) {
                    // durable <gen> acked <n> submitted <n>; a line cut short by the kill is ignored
                    try {
                        long d = Long.parseLong(w[1]);
                        long a = Long.parseLong(w[3]);
                        long s = Long.parseLong(w[5]);
                        said.durable = Math.max(said.durable, d);
                        said.acked = a;
                        said.submitted = s;
                    } catch (NumberFormatException e) {
                        said.other.add(line);
                    }
                } else if (line.startsWith("ready ")) {
                    said.ready = line;
                } else if (line.startsWith("error ")) {
                    said.error = line;
                } else if (said.other.size() < 20) {
                    said.other.add(line);
                }
            }
        } catch (IOException e) {
            // the pipe closes when the child dies
        }
    }
}
