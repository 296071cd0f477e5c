package org.xenj.hypervisor.internal.domain;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicBoolean;

import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.save.SaveStream;

/**
 * Once per JVM, on a daemon thread when snapshots or migrations are configured: the page loop of a
 * save or snapshot image ({@link SaveStream#dryRunPages}) over a synthetic source into nothing,
 * until HotSpot has compiled it. A JVM's first snapshot of a 256 MiB guest otherwise ran its 65,536
 * frames interpreted: its write after the pause took 294-457 ms against 96-170 ms for the next ones
 * (counter guest, load 12). The source is a private array: no domain, frame or file is touched.
 */
final class SaveWarmUp {

    /** Frames per run and runs: ≈ 130,000 iterations, past the JIT's thresholds for the loop and its callees. */
    static final int FRAMES = 2048, RUNS = 64;

    private static final AtomicBoolean STARTED = new AtomicBoolean();

    private SaveWarmUp() {
    }

    /** Starts the warm-up unless this JVM ran it already; logged when done or failed. */
    static void start(HypervisorCore core) {
        if (!STARTED.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            long t0 = System.nanoTime();
            try {
                run(RUNS);
                core.log(String.format("save and snapshot page paths warmed in %.1f ms", (System.nanoTime() - t0) / 1e6));
            } catch (IOException | RuntimeException | LinkageError e) {
                core.log("warming the save and snapshot page paths failed (the first capture takes them cold): " + e);
            }
        }, "xenj-save-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /**
     * {@code runs} page loops over {@link #FRAMES} synthetic frames, one in eight holding data (about
     * the share of the bench guest), read as a frozen or live domain's frames are (looked at in place,
     * copied when not zero). Returns {pages with contents, zero pages} of the last run.
     */
    static long[] run(int runs) throws IOException {
        int perChunk = MachineMemory.CHUNK_FRAMES;
        byte[] chunk = new byte[perChunk * MachineMemory.PAGE_SIZE];
        for (int f = 0; f < perChunk; f += 8) {
            java.util.Arrays.fill(chunk, f * MachineMemory.PAGE_SIZE, (f + 1) * MachineMemory.PAGE_SIZE, (byte) (f + 1));
        }
        SaveStream.PageSource src = new SaveStream.PageSource() {
            @Override
            public long gfnLimit() {
                return FRAMES;
            }

            @Override
            public boolean read(long gfn, byte[] dst, int off) {
                System.arraycopy(chunk, (int) (gfn % perChunk) * MachineMemory.PAGE_SIZE, dst, off, MachineMemory.PAGE_SIZE);
                return true;
            }

            @Override
            public int readNonZero(long gfn, byte[] dst, int off) {
                return SaveRestore.copyUnlessZero(chunk, (int) (gfn % perChunk) * MachineMemory.PAGE_SIZE, dst, off);
            }
        };
        long[] counts = null;
        for (int i = 0; i < runs; i++) {
            counts = SaveStream.dryRunPages(OutputStream.nullOutputStream(), src);
        }
        return counts;
    }
}
