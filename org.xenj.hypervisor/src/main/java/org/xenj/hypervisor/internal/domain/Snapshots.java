package org.xenj.hypervisor.internal.domain;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.SnapshotInfo;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.save.SaveFormatException;
import org.xenj.hypervisor.internal.save.SaveHeader;
import org.xenj.hypervisor.internal.save.SaveStream;

/**
 * The VM state tree: snapshots of a live domain (pause, capture as a save stream, resume), revert
 * in place (pause, replace memory and state, resume; id, name and UUID stay), delete (children move
 * to the parent: every image stands alone) and clones (a new domain restored from a snapshot with
 * its own UUID, name and MACs). Each domain's tree lives in {@code <root>/<uuid>/} (see
 * {@link SnapshotIndex}); keyed by UUID, it outlives the domain id and comes back with a restore of
 * the same domain. One lock for all trees: operations are short and rare, and a revert must not
 * meet a delete of the same image.
 */
final class Snapshots {

    private final HypervisorCore core;
    private volatile Path root;

    Snapshots(HypervisorCore core, Path root) {
        this.core = core;
        this.root = root;
    }

    /** {@code ${karaf.data}/xenj/snapshots} in Karaf, else a folder under the temporary directory. */
    static Path defaultRoot() {
        String data = System.getProperty("karaf.data");
        return data != null ? Path.of(data, "xenj", "snapshots")
                : Path.of(System.getProperty("java.io.tmpdir"), "xenj-snapshots-" + System.getProperty("user.name", "xenj"));
    }

    void setRoot(Path root) {
        this.root = root;
    }

    private Path dirOf(DomainImpl d) {
        return root.resolve(d.uuid.toString());
    }

    synchronized SnapshotInfo create(DomainImpl d, String name) {
        SnapshotIndex.checkName(name);
        requireCapturable(d, "snapshot");
        SnapshotIndex x = SnapshotIndex.load(dirOf(d));
        if (x.entries.containsKey(name)) {
            throw new HypervisorException("domain " + d.id + " (" + d.name + ") already has a snapshot named '" + name + "'");
        }
        Path file = x.image(name);
        Captured c;
        try {
            Files.createDirectories(x.dir);
            c = captureExclusively(d, file, "snapshot '" + name + "'");
        } catch (IOException e) {
            throw new HypervisorException("cannot snapshot domain " + d.id + " (" + d.name + "): " + e.getMessage()
                    + "; nothing was kept", e);
        }
        SnapshotIndex.Entry e = new SnapshotIndex.Entry(name, x.current, System.currentTimeMillis(), c.guestNanos, c.bytes);
        x.entries.put(name, e);
        String before = x.current;
        x.current = name;
        try {
            x.store();
        } catch (IOException ex) {
            x.entries.remove(name);
            x.current = before;
            deleteQuietly(file);
            throw new HypervisorException("cannot write the snapshot index in " + x.dir + ": " + ex.getMessage() + "; nothing was kept", ex);
        }
        core.log(String.format("d%d (%s) snapshot '%s' (parent %s): %d bytes, paused %.1f ms", d.id, d.name, name,
                e.parent() == null ? "none" : "'" + e.parent() + "'", c.bytes, c.pausedNanos / 1e6));
        return info(d, x, e, c.pausedNanos);
    }

    synchronized List<SnapshotInfo> list(DomainImpl d) {
        SnapshotIndex x = SnapshotIndex.load(dirOf(d));
        List<SnapshotInfo> out = new ArrayList<>();
        for (SnapshotIndex.Entry e : x.treeOrder()) {
            out.add(info(d, x, e, 0));
        }
        return out;
    }

    synchronized SnapshotInfo revert(DomainImpl d, String name) {
        return d.exclusively("a revert to '" + name + "'", () -> revertNow(d, name));
    }

    private SnapshotInfo revertNow(DomainImpl d, String name) {
        SnapshotIndex.checkName(name);
        requireRevertible(d);
        SnapshotIndex x = SnapshotIndex.load(dirOf(d));
        SnapshotIndex.Entry e = requireEntry(d, x, name);
        Path file = x.image(name);
        // the whole image is checked before the domain is touched: a damaged file changes nothing
        SaveStream.Scanned s = scan(file, "cannot revert domain " + d.id + " (" + d.name + ") to snapshot '" + name + "'");
        SaveHeader h = s.header();
        if (!h.uuid().equals(d.uuid) || h.memoryMiB() != d.config.memoryMiB() || h.vcpus() != d.sched.vcpuCount()
                || !DomainType.HVM.name().equals(h.domainType()) || h.pages() != d.memory.populatedFrames()) {
            throw new HypervisorException("cannot revert domain " + d.id + " (" + d.name + ") to snapshot '" + name + "': its image "
                    + file + " holds another machine (" + h.domainType() + ", " + h.memoryMiB() + " MiB, " + h.vcpus() + " vCPUs, UUID "
                    + h.uuid() + "); nothing was changed");
        }
        boolean wasPaused;
        synchronized (core) {
            requireRevertible(d);
            wasPaused = d.userPaused;
            d.userPaused = true;
            core.applyActive(d);
        }
        long t0 = System.nanoTime();
        if (!core.awaitQuiescent(d)) {
            resume(d, wasPaused);
            throw new HypervisorException("cannot revert domain " + d.id + " (" + d.name + "): its vCPUs did not stop within 5 s;"
                    + " nothing was changed");
        }
        long tStopped = System.nanoTime();
        // the devices go first: no DMA (a NIC's receive, a disk's bus master) may land in memory being replaced
        Map<String, byte[]> devices;
        try {
            devices = d.guest.detachDevicesForMigration();
        } catch (RuntimeException ex) {
            resume(d, wasPaused);
            throw new HypervisorException("cannot revert domain " + d.id + " (" + d.name + "): " + ex.getMessage() + "; nothing was changed",
                    ex);
        }
        long tLoaded;
        RevertSink sink = new RevertSink(d.memory);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            try {
                SaveStream.loadPages(in, sink);
            } finally {
                sink.done();
            }
            tLoaded = System.nanoTime();
            d.guest.restoreMachine(s.image());
        } catch (IOException | SaveFormatException | RuntimeException | LinkageError ex) {
            // an image changed on disk since the scan, or a device model refusing its own record: memory is part old, part new
            String why = ex.getMessage() != null ? ex.getMessage() : ex.toString();
            try {
                d.guest.reattachDevices(devices);
            } catch (RuntimeException again) {
                why += "; putting its devices back failed too: " + again.getMessage();
            }
            core.log("d" + d.id + " (" + d.name + ") revert to '" + name + "' failed half way: " + why + "; left paused");
            throw new HypervisorException("cannot revert domain " + d.id + " (" + d.name + ") to snapshot '" + name + "': " + why
                    + "; the domain is left paused in a mixed state (memory part old, part the snapshot's): revert it to"
                    + " another snapshot or destroy it", ex);
        }
        resume(d, wasPaused);
        long paused = System.nanoTime() - t0;
        x.current = name;
        try {
            x.store();
        } catch (IOException ex) {
            core.log("d" + d.id + ": reverted to '" + name + "', but the index could not record it as current: " + ex.getMessage());
        }
        core.log(String.format("d%d (%s) reverted to snapshot '%s': %d of %d pages differed, paused %.1f ms (stop %.1f, devices off and"
                + " pages %.1f, state %.1f)", d.id, d.name, name, sink.changed, sink.pages, paused / 1e6, (tStopped - t0) / 1e6,
                (tLoaded - tStopped) / 1e6, (t0 + paused - tLoaded) / 1e6));
        return info(d, x, e, paused);
    }

    synchronized void delete(DomainImpl d, String name) {
        SnapshotIndex.checkName(name);
        SnapshotIndex x = SnapshotIndex.load(dirOf(d));
        SnapshotIndex.Entry e = requireEntry(d, x, name);
        x.entries.remove(name);
        x.entries.replaceAll((k, v) -> name.equals(v.parent())
                ? new SnapshotIndex.Entry(v.name(), e.parent(), v.createdMillis(), v.guestNanos(), v.bytes()) : v);
        if (name.equals(x.current)) {
            x.current = e.parent();
        }
        try {
            x.store();
        } catch (IOException ex) {
            throw new HypervisorException("cannot write the snapshot index in " + x.dir + ": " + ex.getMessage() + "; nothing was changed", ex);
        }
        deleteQuietly(x.image(name));
        core.log("d" + d.id + " (" + d.name + ") snapshot '" + name + "' deleted" + (e.parent() == null ? "" : ", its children now under '"
                + e.parent() + "'"));
    }

    /** A new running domain from {@code snapshot} (null: the domain's state now, with a brief pause). */
    Domain cloneDomain(DomainImpl d, String snapshot, String newName, SaveRestore saveRestore) {
        if (newName == null || newName.isBlank()) {
            throw new HypervisorException("a clone needs a name");
        }
        if (core.lookup(newName).isPresent()) {
            throw new HypervisorException("cannot clone domain " + d.id + " (" + d.name + "): a domain named '" + newName
                    + "' already exists");
        }
        Path file;
        Path temporary = null;
        long t0 = System.nanoTime();
        long pausedNanos = 0;
        String from;
        synchronized (this) {
            if (snapshot != null) {
                SnapshotIndex.checkName(snapshot);
                SnapshotIndex x = SnapshotIndex.load(dirOf(d));
                requireEntry(d, x, snapshot);
                file = x.image(snapshot);
                from = "snapshot '" + snapshot + "'";
                if (!Files.isRegularFile(file)) {
                    throw new HypervisorException("cannot clone domain " + d.id + " (" + d.name + ") from " + from + ": its image " + file
                            + " is missing; nothing was created");
                }
            } else {
                requireCapturable(d, "clone");
                try {
                    Files.createDirectories(root);
                    temporary = Files.createTempFile(root, ".clone-" + d.uuid + ".", ".part");
                    pausedNanos = captureExclusively(d, temporary, "a clone").pausedNanos;
                } catch (IOException | RuntimeException e) {
                    deleteQuietly(temporary);
                    throw e instanceof HypervisorException h ? h : new HypervisorException("cannot clone domain " + d.id + " (" + d.name
                            + "): " + e.getMessage() + "; nothing was created", e);
                }
                file = temporary;
                from = "its state now";
            }
        }
        try {
            UUID uuid = UUID.randomUUID();
            Domain c = saveRestore.restore(file, Map.of("name", newName), false, uuid, Snapshots::freshMacs);
            core.log(String.format("d%d (%s) cloned from d%d (%s), %s: %.1f ms (source paused %.1f ms)", c.id(), c.name(), d.id, d.name,
                    from, (System.nanoTime() - t0) / 1e6, pausedNanos / 1e6));
            return c;
        } catch (HypervisorException e) {
            throw new HypervisorException(e.getMessage().replace("cannot restore " + file, "cannot clone domain " + d.id + " (" + d.name
                    + ") from " + from), e);
        } finally {
            deleteQuietly(temporary);
        }
    }

    /**
     * Loads a snapshot's pages into the live domain's own frames, writing only those that differ:
     * reading a page costs a fraction of writing it, and most of a domain's memory (zero pages,
     * code) is what it was at the snapshot. Every changed frame is marked for log-dirty; the code
     * caches learn of the writes from one {@link MachineMemory#wroteRam} at the end (the vCPUs are
     * stopped, and it comes after every store).
     */
    private static final class RevertSink implements SaveStream.PageSink {
        private final DomainMemory mem;
        private final MachineMemory machine;
        long pages;
        long changed;

        RevertSink(DomainMemory mem) {
            this.mem = mem;
            this.machine = mem.machine();
        }

        @Override
        public boolean populated(long gfn) {
            int mfn = mem.mfn(gfn);
            return mfn >= 0 && machine.owner(mfn) == mem.domid();
        }

        @Override
        public void write(long gfn, byte[] src, int off) {
            int mfn = mem.mfn(gfn);
            byte[] chunk = machine.chunk(mfn);
            int at = MachineMemory.offset(mfn);
            pages++;
            if (!Arrays.equals(chunk, at, at + MachineMemory.PAGE_SIZE, src, off, off + MachineMemory.PAGE_SIZE)) {
                System.arraycopy(src, off, chunk, at, MachineMemory.PAGE_SIZE);
                machine.markDirty(mfn);
                changed++;
            }
        }

        void done() {
            if (changed > 0) {
                machine.wroteRam();
            }
        }
    }

    /** The clone's vifs without their {@code mac=}: each device derives a new address from the clone's name. */
    static DomainConfig freshMacs(DomainConfig c) {
        List<String> vifs = new ArrayList<>();
        for (String v : c.vifs()) {
            String s = v.trim();
            boolean quoted = s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0);
            if (quoted) {
                s = s.substring(1, s.length() - 1);
            }
            List<String> keep = new ArrayList<>();
            for (String item : s.split(",")) {
                if (!item.trim().toLowerCase(Locale.ROOT).startsWith("mac=")) {
                    keep.add(item.trim());
                }
            }
            vifs.add(String.join(",", keep));
        }
        return c.toBuilder().vifs(vifs).build();
    }

    private record Captured(long bytes, long guestNanos, long pausedNanos) {
    }

    private Captured captureExclusively(DomainImpl d, Path file, String what) throws IOException {
        try {
            return d.exclusively(what, () -> {
                try {
                    return capture(d, file);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Pause, write the image to {@code file} (via a temporary file), resume; the sync happens
     * after the resume, so the pause covers the copy only. A failure leaves no file and the
     * domain's pause state as it was.
     */
    private Captured capture(DomainImpl d, Path file) throws IOException {
        boolean wasPaused;
        synchronized (core) {
            wasPaused = d.userPaused;
            d.userPaused = true;
            core.applyActive(d);
        }
        long t0 = System.nanoTime();
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName() + ".", ".part");
        SaveStream.Written w;
        long paused;
        long guestNanos = d.clock.guestNanos();
        try {
            try {
                if (!core.awaitQuiescent(d)) {
                    throw new HypervisorException("its vCPUs did not stop within 5 s");
                }
                w = SaveRestore.writeImage(core, d, tmp);
            } finally {
                resume(d, wasPaused);
                paused = System.nanoTime() - t0;
            }
            SaveRestore.syncAndRename(tmp, file);
            tmp = null;
        } catch (HypervisorException e) {
            throw new HypervisorException("cannot capture domain " + d.id + " (" + d.name + "): " + e.getMessage()
                    + (wasPaused ? "" : "; it runs on"), e);
        } finally {
            deleteQuietly(tmp);
        }
        return new Captured(w.bytes(), guestNanos, paused);
    }

    private void resume(DomainImpl d, boolean wasPaused) {
        synchronized (core) {
            if (d.phase == DomainImpl.Phase.LIVE) {
                d.userPaused = wasPaused;
                core.applyActive(d);
            }
        }
    }

    private static SaveStream.Scanned scan(Path file, String what) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            return SaveStream.scan(in);
        } catch (NoSuchFileException e) {
            throw new HypervisorException(what + ": its image " + file + " is missing; nothing was changed");
        } catch (SaveFormatException e) {
            throw new HypervisorException(what + ": its image " + file + " is damaged: " + e.getMessage() + "; nothing was changed", e);
        } catch (IOException | RuntimeException e) {
            throw new HypervisorException(what + ": cannot read its image " + file + ": " + e + "; nothing was changed", e);
        }
    }

    private static SnapshotIndex.Entry requireEntry(DomainImpl d, SnapshotIndex x, String name) {
        SnapshotIndex.Entry e = x.entries.get(name);
        if (e == null) {
            throw new HypervisorException("domain " + d.id + " (" + d.name + ") has no snapshot named '" + name + "'"
                    + (x.entries.isEmpty() ? " (it has none)" : " (it has " + String.join(", ", x.entries.keySet()) + ")"));
        }
        return e;
    }

    /** What a snapshot or a live clone needs: a saveable HVM guest without writable disks. */
    private static void requireCapturable(DomainImpl d, String what) {
        String why = null;
        if (d.phase != DomainImpl.Phase.LIVE) {
            why = "it is " + d.state().name().toLowerCase(Locale.ROOT);
        } else if (d.config.type() != DomainType.HVM) {
            why = "it is " + d.config.type() + ": xenj captures HVM domains only so far";
        } else if (d.guest == null) {
            why = "it has not been built yet";
        } else if (d.guest.saveRefusal() != null) {
            why = d.guest.saveRefusal();
        } else {
            String disk = writableDisk(d.config);
            if (disk != null) {
                why = "its disk '" + disk + "' is writable, and branching disks (a qcow2 overlay per snapshot) is not there yet;"
                        + " snapshots take domains whose disks are read-only (access=ro, CD-ROMs)";
            }
        }
        if (why != null) {
            throw new HypervisorException("cannot " + what + " domain " + d.id + " (" + d.name + "): " + why + "; nothing was changed");
        }
    }

    private static void requireRevertible(DomainImpl d) {
        if (d.phase != DomainImpl.Phase.LIVE) {
            throw new HypervisorException("cannot revert domain " + d.id + " (" + d.name + "): it is "
                    + d.state().name().toLowerCase(Locale.ROOT) + "; nothing was changed");
        }
        if (d.guest == null) {
            throw new HypervisorException("cannot revert domain " + d.id + " (" + d.name + "): it has not been built yet");
        }
    }

    /**
     * The first disk of {@code c} a guest could write, or null. xl's rules (xl-disk-configuration):
     * access defaults to rw; {@code access=ro}/{@code r}, a positional fourth field {@code r}/{@code ro},
     * and CD-ROMs ({@code devtype=cdrom}, {@code cdrom}, a {@code :cdrom} vdev) are read-only.
     */
    static String writableDisk(DomainConfig c) {
        for (String spec : c.disks()) {
            String s = spec.trim();
            if (s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0)) {
                s = s.substring(1, s.length() - 1);
            }
            boolean readOnly = false;
            int positional = 0;
            for (String item : s.split(",")) {
                String t = item.trim().toLowerCase(Locale.ROOT);
                if (t.equals("cdrom") || t.equals("devtype=cdrom") || t.endsWith(":cdrom") || t.equals("access=ro") || t.equals("access=r")
                        || t.equals("ro") && positional == 3 || t.equals("r") && positional == 3) {
                    readOnly = true;
                }
                if (!t.contains("=")) {
                    positional++;
                }
            }
            if (!readOnly) {
                return spec;
            }
        }
        return null;
    }

    private SnapshotInfo info(DomainImpl d, SnapshotIndex x, SnapshotIndex.Entry e, long pausedNanos) {
        return new SnapshotInfo(d.name, e.name(), e.parent(), e.name().equals(x.current), e.createdMillis(), e.guestNanos(), e.bytes(),
                pausedNanos, x.image(e.name()).toString());
    }

    private void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            core.log("cannot remove " + p + ": " + e.getMessage());
        }
    }
}
