package org.xenj.hypervisor.internal.domain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.save.SaveStream;

/**
 * A snapshot's or a live clone's capture of a running domain's whole state as a save stream:
 * the records and a copy-on-write freeze of the memory in a short pause, the pages written after
 * it while the domain runs on (see {@link FrozenPages}).
 */
final class SnapshotCapture {

    private final HypervisorCore core;

    SnapshotCapture(HypervisorCore core) {
        this.core = core;
    }

    /**
     * {@code pausedNanos}: the domain stopped ({@code pauseParts}: where that went); {@code writtenNanos}:
     * the image written after it ran on again (0: written in the pause); {@code frozen}: frames shared
     * for that write (0: none); {@code syncNanos}: of all that, making the file durable and renaming it.
     */
    record Captured(long bytes, long guestNanos, long pausedNanos, long writtenNanos, int frozen, String pauseParts, long syncNanos) {
    }

    /**
     * Whether a capture writes the memory after the pause from frames frozen copy-on-write
     * ({@code -Dxenj.snapshot.live=false}: all of it in the pause, as before; for measurements and
     * as a way back). Domains that cannot share their frames always write in the pause.
     */
    static volatile boolean liveWrite = Boolean.parseBoolean(System.getProperty("xenj.snapshot.live", "true"));

    /** Test hooks: in the pause after the records are taken; after the resume, before the frozen pages are written. */
    interface CaptureHook {
        void run(DomainImpl d) throws IOException;
    }

    static volatile CaptureHook pausedHook;
    static volatile CaptureHook writingHook;

    Captured exclusively(DomainImpl d, Path file, String what) throws IOException {
        return exclusively(d, file, what, null);
    }

    /**
     * Runs inside {@link DomainImpl#exclusively} for the whole write, the background part too: no
     * revert or migration may change the domain's state under it (they are refused meanwhile),
     * while the domain itself runs.
     */
    Captured exclusively(DomainImpl d, Path file, String what, Runnable whilePaused) throws IOException {
        try {
            return d.exclusively(what, () -> {
                try {
                    return capture(d, file, whilePaused);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Pause, take the records and freeze the memory (frames shared copy-on-write, see
     * {@link FrozenPages}), resume, then write the image to {@code file} (via a temporary file)
     * from the frozen frames, end the share, sync and rename: the pause covers neither the memory
     * copy nor the sync. A domain that cannot share (a PV memory plan) has its image written in the
     * pause as before. A failure leaves no file, no share and the domain's pause state as it was.
     */
    private Captured capture(DomainImpl d, Path file, Runnable whilePaused) throws IOException {
        boolean wasPaused = core.holdPaused(d);
        long t0 = System.nanoTime();
        Path tmp = null;
        SaveStream.Written w = null;
        long paused;
        long guestNanos = d.clock.guestNanos();
        FrozenPages frozen = null;
        int frozenFrames = 0;
        long tStopped = t0, tRecords = t0, tFrozen = t0, tSync, syncNanos;
        try {
            try {
                SaveRestore.Prepared p = null;
                try {
                    tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName() + ".", ".part");
                    if (!core.awaitQuiescent(d)) {
                        throw new HypervisorException("its vCPUs did not stop within 5 s");
                    }
                    tStopped = System.nanoTime();
                    if (liveWrite && d.memory.canShare()) {
                        p = SaveRestore.prepareImage(core, d);
                        tRecords = System.nanoTime();
                        frozen = FrozenPages.take(d.memory, p.leaveOut());
                        frozenFrames = frozen.sharedFrames();
                    } else {
                        w = SaveRestore.writeImage(core, d, tmp);
                        tRecords = System.nanoTime();
                    }
                    tFrozen = System.nanoTime();
                    if (whilePaused != null) {
                        whilePaused.run();
                    }
                    CaptureHook h = pausedHook;
                    if (h != null) {
                        h.run(d);
                    }
                } finally {
                    resume(d, wasPaused);
                    paused = System.nanoTime() - t0;
                }
                if (frozen != null) {
                    CaptureHook h = writingHook;
                    if (h != null) {
                        h.run(d);
                    }
                    w = SaveRestore.writeImage(p, frozen, tmp);
                }
            } finally {
                if (frozen != null) {
                    frozen.release();
                }
            }
            tSync = System.nanoTime();
            SaveRestore.syncAndRename(tmp, file);
            syncNanos = System.nanoTime() - tSync;
            tmp = null;
        } catch (HypervisorException e) {
            throw new HypervisorException("cannot capture domain " + d.id + " (" + d.name + "): " + e.getMessage()
                    + (wasPaused ? "" : "; it runs on"), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    core.log("cannot remove " + tmp + ": " + e.getMessage());
                }
            }
        }
        long written = frozen == null ? 0 : System.nanoTime() - t0 - paused;
        String parts = String.format("stop %.1f, %s %.1f, %sswitch and resume %.1f", (tStopped - t0) / 1e6,
                frozen == null ? "image" : "records", (tRecords - tStopped) / 1e6,
                frozen == null ? "" : String.format("freeze %.1f, ", (tFrozen - tRecords) / 1e6), (t0 + paused - tFrozen) / 1e6);
        return new Captured(w.bytes(), guestNanos, paused, written, frozenFrames, parts, syncNanos);
    }

    /** Back to the pause state before the capture, unless the domain is going. */
    void resume(DomainImpl d, boolean wasPaused) {
        synchronized (core) {
            if (d.phase == DomainImpl.Phase.LIVE) {
                d.userPaused = wasPaused;
                core.applyActive(d);
            }
        }
    }
}
