package org.xenj.hypervisor.internal.domain;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.xenj.hypervisor.internal.save.SaveFormatException;
import org.xenj.hypervisor.internal.save.SaveHeader;
import org.xenj.hypervisor.internal.save.SaveStream;
import org.xenj.hypervisor.spi.DiskBranching;

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
    private final SnapshotCapture capture;

    Snapshots(HypervisorCore core, Path root) {
        this.core = core;
        this.root = root;
        this.capture = new SnapshotCapture(core);
    }

    /** {@code ${karaf.data}/xenj/snapshots} in Karaf, else a folder under the temporary directory. */
    static Path defaultRoot() {
        String data = System.getProperty("karaf.data");
        return data != null ? Path.of(data, "xenj", "snapshots")
                : Path.of(System.getProperty("java.io.tmpdir"), "xenj-snapshots-" + System.getProperty("user.name", "xenj"));
    }

    void setRoot(Path root) {
        this.root = root;
        SaveWarmUp.start(core); // this host takes snapshots: its first should not run the page loop interpreted
    }

    /** Whether {@code file} is a snapshot image in a tree here (a restore of it may run beside the original). */
    boolean holdsImage(Path file) {
        Path r = root;
        return r != null && file.toAbsolutePath().normalize().startsWith(r.toAbsolutePath().normalize());
    }

    /**
     * {@code xen:restore}: a snapshot image (its original may still run) gets a new VM generation ID
     * before it runs, as a clone does; a save image resumes as the one machine it was (Hyper-V keeps
     * the ID over save/resume and live migration) — restoring it twice makes copies, which xen:clone is for.
     */
    Domain restore(Path file, Map<String, String> overrides, boolean paused, SaveRestore saveRestore) {
        if (!holdsImage(file)) {
            return saveRestore.restore(file, overrides, paused);
        }
        Domain d = saveRestore.restore(file, overrides, true);
        newGeneration((DomainImpl) d, "restored from snapshot image " + file);
        if (!paused) {
            core.unpause(d.id());
        }
        return d;
    }

    private Path dirOf(DomainImpl d) {
        return root.resolve(d.uuid.toString());
    }

    synchronized SnapshotInfo create(DomainImpl d, String name) {
        return create(d, name, null);
    }

    /**
     * As above; with {@code shareOut}, the domain's frames are also shared copy-on-write in the same
     * pause (after the image and the disk switch) and the token left in {@code shareOut[0]}: the
     * snapshot's memory for a clone made from it at once ({@link #cloneThroughSnapshot}).
     */
    private synchronized SnapshotInfo create(DomainImpl d, String name, org.xenj.hypervisor.internal.mem.SharedFrames[] shareOut) {
        SnapshotIndex.checkName(name);
        requireCapturable(d, "snapshot", true);
        SnapshotIndex x = SnapshotIndex.load(dirOf(d));
        if (x.entries.containsKey(name)) {
            throw new HypervisorException("domain " + d.id + " (" + d.name + ") already has a snapshot named '" + name + "'");
        }
        DiskBranching b = core.diskBranching();
        List<SnapshotDisks.Branch> disks = b == null ? List.of() : branches(d, b, "snapshot");
        Path file = x.image(name);
        SnapshotCapture.Captured c;
        List<Path> overlays = List.of();
        try {
            Files.createDirectories(x.dir);
            // the overlays are made before the pause: a full disk refuses the snapshot with the domain untouched
            overlays = SnapshotDisks.createOverlays(b, x.dir, disks.stream()
                    .map(k -> new SnapshotIndex.Disk(null, k.disk().vdev(), k.disk().format(), k.disk().image())).toList());
        } catch (IOException | RuntimeException e) {
            throw new HypervisorException("cannot snapshot domain " + d.id + " (" + d.name + "): cannot create an overlay for its disk"
                    + (disks.size() == 1 ? " " + disks.get(0).disk().image() : "s") + ": " + e.getMessage()
                    + "; nothing was changed, it runs on its old image", e);
        }
        List<Path> made = overlays;
        boolean[] switched = {false};
        long[] switchNanos = {0};
        try {
            c = capture.exclusively(d, file, "snapshot '" + name + "'", disks.isEmpty() && shareOut == null ? null : () -> {
                if (!disks.isEmpty()) {
                    long t = System.nanoTime();
                    switchDisks(d, b, disks, made);
                    switchNanos[0] = System.nanoTime() - t;
                    switched[0] = true;
                }
                if (shareOut != null) {
                    shareOut[0] = d.memory.shareForClone();
                }
            });
        } catch (IOException | RuntimeException e) {
            if (shareOut != null && shareOut[0] != null) {
                shareOut[0].release();
                shareOut[0] = null;
            }
            if (!switched[0]) {
                SnapshotDisks.deleteAll(made);
            } else {
                // the image failed after the switch: the domain goes on in its new overlays, whose chain holds every write
                recordRunning(d, x, disks, made, null);
            }
            if (e instanceof HypervisorException h) {
                throw h;
            }
            throw new HypervisorException("cannot snapshot domain " + d.id + " (" + d.name + "): " + e.getMessage()
                    + "; nothing was kept", e);
        }
        SnapshotIndex.Entry e = new SnapshotIndex.Entry(name, x.current, System.currentTimeMillis(), c.guestNanos(), c.bytes());
        x.entries.put(name, e);
        String before = x.current;
        x.current = name;
        List<SnapshotIndex.Disk> diskLines = new ArrayList<>(x.disks);
        if (!disks.isEmpty()) {
            recordRunning(d, x, disks, made, name);
        }
        try {
            x.store();
        } catch (IOException ex) {
            x.entries.remove(name);
            x.current = before;
            x.disks.clear();
            x.disks.addAll(diskLines);
            deleteQuietly(file);
            throw new HypervisorException("cannot write the snapshot index in " + x.dir + ": " + ex.getMessage() + "; nothing was kept"
                    + (disks.isEmpty() ? "" : " (the domain goes on in new disk overlays over its old images)"), ex);
        }
        core.log(String.format("d%d (%s) snapshot '%s' (parent %s): %d bytes, paused %.1f ms (%s), %s%s", d.id, d.name, name,
                e.parent() == null ? "none" : "'" + e.parent() + "'", c.bytes(), c.pausedNanos() / 1e6, c.pauseParts(), c.frozen() == 0
                ? "memory written in the pause" : String.format("written %.1f ms after it (of which sync and rename %.1f) from %d frames frozen"
                        + " copy-on-write", c.writtenNanos() / 1e6, c.syncNanos() / 1e6, c.frozen()),
                disks.isEmpty() ? "" : String.format(", %d disk(s) now in %s (devices reopened in %.1f ms)", disks.size(), made,
                        switchNanos[0] / 1e6)));
        return info(d, x, e, c.pausedNanos());
    }

    /**
     * With the domain paused and its image taken: the device models hand their devices over to
     * themselves (in-flight disk I/O drained, images flushed and closed), the configuration names
     * the new overlays, and the devices come back in the same state, now opening the overlays. The
     * old images are then made read-only.
     */
    private void switchDisks(DomainImpl d, DiskBranching b, List<SnapshotDisks.Branch> disks, List<Path> overlays) {
        Map<String, byte[]> states = d.guest.detachDevicesForMigration();
        DomainConfig before = d.config;
        d.config = SnapshotDisks.retarget(b, before, disks, overlays);
        try {
            d.guest.reattachDevices(states);
        } catch (RuntimeException e) {
            d.config = before;
            try {
                d.guest.reattachDevices(states);
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw new HypervisorException("its device models did not take the new disk overlays: " + e.getMessage(), e);
        }
        for (SnapshotDisks.Branch k : disks) {
            SnapshotDisks.freeze(k.disk().image(), core::log);
        }
    }

    /** The index after a switch: each old image is {@code owner}'s (null: nobody's, kept as a backing file), the overlays run. */
    private void recordRunning(DomainImpl d, SnapshotIndex x, List<SnapshotDisks.Branch> disks, List<Path> overlays, String owner) {
        for (int i = 0; i < disks.size(); i++) {
            DiskBranching.WritableDisk w = disks.get(i).disk();
            x.disks.removeIf(k -> k.owner() == null && k.vdev().equals(w.vdev()));
            if (owner != null) {
                x.disks.add(new SnapshotIndex.Disk(owner, w.vdev(), w.format(), w.image().toAbsolutePath()));
            }
            x.disks.add(new SnapshotIndex.Disk(null, w.vdev(), "qcow2", overlays.get(i).toAbsolutePath()));
        }
        if (owner == null) {
            try {
                x.store();
            } catch (IOException e) {
                core.log("d" + d.id + ": cannot record its new disk overlays " + overlays + " in " + x.dir + ": " + e.getMessage());
            }
        }
    }

    /** The domain's writable disks; refused when they cannot be branched. */
    private static List<SnapshotDisks.Branch> branches(DomainImpl d, DiskBranching b, String what) {
        try {
            return SnapshotDisks.writable(b, d.config);
        } catch (HypervisorException e) {
            throw new HypervisorException("cannot " + what + " domain " + d.id + " (" + d.name + "): " + e.getMessage()
                    + "; nothing was changed", e);
        }
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
        DiskBranching b = core.diskBranching();
        List<SnapshotDisks.Branch> disks = List.of();
        List<Path> overlays = List.of();
        if (b != null) {
            disks = branches(d, b, "revert");
            overlays = revertOverlays(d, x, name, b, disks);
        } else if (!x.disksOf(name).isEmpty()) {
            throw new HypervisorException("cannot revert domain " + d.id + " (" + d.name + ") to snapshot '" + name + "': it holds disk"
                    + " images and no disk-branching service (qemu-dm with the block layer) is running; nothing was changed");
        }
        try {
            SnapshotInfo out = revertTo(d, x, e, file, s, b, disks, overlays);
            overlays = List.of();
            return out;
        } finally {
            SnapshotDisks.deleteAll(overlays);
        }
    }

    /**
     * New overlays on the snapshot's images for the domain's writable disks, each image checked
     * first (it and its backing chain open and read): a missing or damaged one refuses the revert.
     */
    private List<Path> revertOverlays(DomainImpl d, SnapshotIndex x, String name, DiskBranching b, List<SnapshotDisks.Branch> disks) {
        String what = "cannot revert domain " + d.id + " (" + d.name + ") to snapshot '" + name + "'";
        List<SnapshotIndex.Disk> on = snapshotImages(x, name, b, disks, what);
        try {
            return SnapshotDisks.createOverlays(b, x.dir, on);
        } catch (IOException | RuntimeException ex) {
            throw new HypervisorException(what + ": cannot create an overlay on its disk image: " + ex.getMessage()
                    + "; nothing was changed", ex);
        }
    }

    /** The snapshot's image of each of {@code disks} (by vdev), each checked whole; refused with {@code what} otherwise. */
    private static List<SnapshotIndex.Disk> snapshotImages(SnapshotIndex x, String name, DiskBranching b,
            List<SnapshotDisks.Branch> disks, String what) {
        List<SnapshotIndex.Disk> on = new ArrayList<>();
        for (SnapshotDisks.Branch k : disks) {
            SnapshotIndex.Disk img = x.disksOf(name).stream().filter(t -> t.vdev().equals(k.disk().vdev())).findFirst().orElse(null);
            if (img == null) {
                throw new HypervisorException(what + ": it holds no image of the writable disk " + k.disk().vdev()
                        + "; nothing was changed");
            }
            try {
                b.check(img.image(), img.format());
            } catch (IOException | RuntimeException ex) {
                throw new HypervisorException(what + ": its image of disk " + img.vdev() + " (" + img.image() + ") is unusable: "
                        + ex.getMessage() + "; nothing was changed", ex);
            }
            on.add(img);
        }
        return on;
    }

    private SnapshotInfo revertTo(DomainImpl d, SnapshotIndex x, SnapshotIndex.Entry e, Path file, SaveStream.Scanned s,
            DiskBranching b, List<SnapshotDisks.Branch> disks, List<Path> overlays) {
        String name = e.name();
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
        SnapshotRevertSink sink = new SnapshotRevertSink(d.memory);
        DomainConfig configBefore = d.config;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            try {
                SaveStream.loadPages(in, sink);
            } finally {
                sink.done();
            }
            tLoaded = System.nanoTime();
            if (!disks.isEmpty()) {
                // the devices come back opening the new overlays on the snapshot's images
                d.config = SnapshotDisks.retarget(b, configBefore, disks, overlays);
            }
            d.guest.restoreMachine(s.image());
            // the snapshot may already run elsewhere (a clone) or be reverted to again: a new generation
            newGeneration(d, "reverted to snapshot '" + name + "'");
        } catch (IOException | SaveFormatException | RuntimeException | LinkageError ex) {
            // an image changed on disk since the scan, or a device model refusing its own record: memory is part old, part new
            String why = ex.getMessage() != null ? ex.getMessage() : ex.toString();
            d.config = configBefore;
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
        for (int i = 0; i < disks.size(); i++) {
            String vdev = disks.get(i).disk().vdev();
            x.disks.removeIf(k -> k.owner() == null && k.vdev().equals(vdev));
            x.disks.add(new SnapshotIndex.Disk(null, vdev, "qcow2", overlays.get(i).toAbsolutePath()));
        }
        try {
            x.store();
        } catch (IOException ex) {
            core.log("d" + d.id + ": reverted to '" + name + "', but the index could not record it as current: " + ex.getMessage());
        }
        if (!disks.isEmpty()) {
            // the writes after the snapshot (the old running overlay) go unless something still builds on them
            List<Path> gone = SnapshotDisks.collect(root, b, core.domainConfigs(), core::log);
            core.log("d" + d.id + " (" + d.name + ") disks now in " + overlays + (gone.isEmpty() ? "" : "; removed " + gone));
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
        List<SnapshotIndex.Disk> diskLines = new ArrayList<>(x.disks);
        x.disks.removeIf(k -> name.equals(k.owner()));
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
        DiskBranching b = core.diskBranching();
        if (b != null && diskLines.size() != x.disks.size()) {
            List<Path> gone = SnapshotDisks.collect(root, b, core.domainConfigs(), core::log);
            core.log("d" + d.id + " (" + d.name + ") snapshot '" + name + "': disk images " + (gone.isEmpty()
                    ? "kept (backing files of overlays still in use)" : "removed: " + gone));
        }
        core.log("d" + d.id + " (" + d.name + ") snapshot '" + name + "' deleted" + (e.parent() == null ? "" : ", its children now under '"
                + e.parent() + "'"));
    }

    /**
     * Whether a live clone shares the original's memory copy-on-write ({@code -Dxenj.clone.cow=false}:
     * copies it, as before; for measurements and as a way back).
     */
    static final boolean SHARE_CLONES = Boolean.parseBoolean(System.getProperty("xenj.clone.cow", "true"));

    /** A new running domain from {@code snapshot} (null: the domain's state now, with a brief pause). */
    Domain cloneDomain(DomainImpl d, String snapshot, String newName, SaveRestore saveRestore) {
        return cloneDomain(d, snapshot, newName, saveRestore, null);
    }

    /** As above; {@code sharedNow}: the snapshot's memory, shared in its pause (a clone through a snapshot taken now). */
    private Domain cloneDomain(DomainImpl d, String snapshot, String newName, SaveRestore saveRestore, org.xenj.hypervisor.internal.mem.SharedFrames sharedNow) {
        if (newName == null || newName.isBlank()) {
            throw new HypervisorException("a clone needs a name");
        }
        if (core.lookup(newName).isPresent()) {
            throw new HypervisorException("cannot clone domain " + d.id + " (" + d.name + "): a domain named '" + newName
                    + "' already exists");
        }
        if (snapshot == null && BranchConfigs.writableDisk(d.config) != null) {
            return cloneThroughSnapshot(d, newName, saveRestore);
        }
        Path file;
        Path temporary = null;
        long t0 = System.nanoTime();
        long pausedNanos = 0;
        String from;
        UUID uuid = UUID.randomUUID();
        DiskBranching b = core.diskBranching();
        List<SnapshotIndex.Disk> diskImages = List.of();
        List<Path> overlays = List.of();
        // the live clone's RAM: the original's frames, shared copy-on-write (taken in the capture's pause)
        org.xenj.hypervisor.internal.mem.SharedFrames[] shared = {sharedNow};
        synchronized (this) {
            if (snapshot != null) {
                SnapshotIndex.checkName(snapshot);
                SnapshotIndex x = SnapshotIndex.load(dirOf(d));
                requireEntry(d, x, snapshot);
                file = x.image(snapshot);
                from = "snapshot '" + snapshot + "'";
                String what = "cannot clone domain " + d.id + " (" + d.name + ") from " + from;
                if (!Files.isRegularFile(file)) {
                    throw new HypervisorException(what + ": its image " + file + " is missing; nothing was created");
                }
                diskImages = x.disksOf(snapshot);
                if (!diskImages.isEmpty()) {
                    if (b == null) {
                        throw new HypervisorException(what + ": it holds disk images and no disk-branching service (qemu-dm with the"
                                + " block layer) is running; nothing was created");
                    }
                    for (SnapshotIndex.Disk k : diskImages) {
                        try {
                            b.check(k.image(), k.format());
                        } catch (IOException | RuntimeException ex) {
                            throw new HypervisorException(what + ": its image of disk " + k.vdev() + " (" + k.image() + ") is unusable: "
                                    + ex.getMessage() + "; nothing was created", ex);
                        }
                    }
                    try {
                        // the clone's own tree: its overlays on the snapshot's images, recorded at once as its running branch
                        // (a garbage collection by another operation must not take them while the clone is being built)
                        overlays = SnapshotDisks.createOverlays(b, root.resolve(uuid.toString()), diskImages);
                        SnapshotIndex cx = SnapshotIndex.load(root.resolve(uuid.toString()));
                        for (int i = 0; i < overlays.size(); i++) {
                            cx.disks.add(new SnapshotIndex.Disk(null, diskImages.get(i).vdev(), "qcow2", overlays.get(i).toAbsolutePath()));
                        }
                        cx.store();
                    } catch (IOException | RuntimeException ex) {
                        SnapshotDisks.deleteAll(overlays);
                        removeTree(root.resolve(uuid.toString()));
                        throw new HypervisorException(what + ": cannot create an overlay on its disk image: " + ex.getMessage()
                                + "; nothing was created", ex);
                    }
                }
            } else {
                requireCapturable(d, "clone");
                try {
                    Files.createDirectories(root);
                    temporary = Files.createTempFile(root, ".clone-" + d.uuid + ".", ".part");
                    pausedNanos = capture.exclusively(d, temporary, "a clone", SHARE_CLONES
                            ? () -> shared[0] = d.memory.shareForClone() : null).pausedNanos();
                } catch (IOException | RuntimeException e) {
                    if (shared[0] != null) {
                        shared[0].release();
                    }
                    deleteQuietly(temporary);
                    throw e instanceof HypervisorException h ? h : new HypervisorException("cannot clone domain " + d.id + " (" + d.name
                            + "): " + e.getMessage() + "; nothing was created", e);
                }
                file = temporary;
                from = "its state now";
            }
        }
        List<SnapshotIndex.Disk> images = diskImages;
        List<Path> made = overlays;
        boolean created = false;
        try {
            // paused until the clone has its own generation ID: its vCPUs must not run on the original's
            Domain c = saveRestore.restore(file, Map.of("name", newName), true, uuid,
                    conf -> cloneDisks(b, BranchConfigs.freshMacs(conf), images, made), shared[0]);
            created = true;
            newGeneration((DomainImpl) c, "cloned from d" + d.id + " (" + d.name + ")");
            core.unpause(c.id());
            int sharing = ((DomainImpl) c).memory.sharedFramesMapped();
            core.log(String.format("d%d (%s) cloned from d%d (%s), %s: %.1f ms (source paused %.1f ms)%s", c.id(), c.name(), d.id, d.name,
                    from, (System.nanoTime() - t0) / 1e6, pausedNanos / 1e6, sharing == 0 ? ", memory copied"
                    : String.format(", %d of its %d frames shared copy-on-write with d%d", sharing, ((DomainImpl) c).memory.populatedFrames(), d.id)));
            return c;
        } catch (HypervisorException e) {
            throw new HypervisorException(e.getMessage().replace("cannot restore " + file, "cannot clone domain " + d.id + " (" + d.name
                    + ") from " + from), e);
        } finally {
            if (shared[0] != null) {
                shared[0].release(); // a no-op once the clone took them
            }
            deleteQuietly(temporary);
            if (!created && !made.isEmpty()) {
                synchronized (this) {
                    SnapshotDisks.deleteAll(made);
                    removeTree(root.resolve(uuid.toString()));
                }
            }
        }
    }

    /**
     * A clone of the state now of a domain with writable disks: both branches must write their own
     * overlays on a common frozen image, and a frozen image belongs to a snapshot, so the domain is
     * snapshotted first (as libvirt's external snapshots do: the original goes on in a new overlay)
     * under a name that says what it is for, {@code clone-<newname>}, and the clone is made from it. The
     * snapshot stays in the original's tree (it is where the branches part; delete it like any other).
     */
    private Domain cloneThroughSnapshot(DomainImpl d, String newName, SaveRestore saveRestore) {
        String name;
        org.xenj.hypervisor.internal.mem.SharedFrames[] shared = new org.xenj.hypervisor.internal.mem.SharedFrames[1];
        synchronized (this) {
            name = freeSnapshotName(d, "clone-" + newName.replaceAll("[^A-Za-z0-9._+-]", "_"));
            try {
                create(d, name, SHARE_CLONES ? shared : null);
            } catch (HypervisorException e) {
                throw new HypervisorException(e.getMessage().replace("cannot snapshot", "cannot clone")
                        + " (a clone of a domain with writable disks branches them at a snapshot)", e);
            }
        }
        core.log("d" + d.id + " (" + d.name + ") snapshot '" + name + "' taken for the clone '" + newName
                + "' (its writable disks branch there)");
        try {
            return cloneDomain(d, name, newName, saveRestore, shared[0]);
        } catch (HypervisorException e) {
            throw new HypervisorException(e.getMessage() + " (the snapshot '" + name + "' taken for it stays)", e);
        } finally {
            if (shared[0] != null) {
                shared[0].release(); // a no-op once the clone took them
            }
        }
    }

    /** {@code base}, or {@code base-2}, {@code base-3} … whichever the domain's tree does not have yet (64 characters at most). */
    private String freeSnapshotName(DomainImpl d, String base) {
        String b = base.length() > 60 ? base.substring(0, 60) : base;
        java.util.Set<String> taken = SnapshotIndex.load(dirOf(d)).entries.keySet();
        String name = b;
        for (int i = 2; taken.contains(name); i++) {
            name = b + "-" + i;
        }
        return name;
    }

    /**
     * A guest that may now be one of several copies gets a new VM generation ID and its ACPI
     * notification (Linux then reseeds its RNG: "crng reseeded due to virtual machine fork"); one
     * without the device is logged with {@link Domain#NO_GENERATION_ID_WARNING}.
     */
    private void newGeneration(DomainImpl d, String why) {
        if (d.guest != null && d.guest.newGenerationId()) {
            core.log("d" + d.id + " (" + d.name + ") " + why + ": new VM generation ID, GPE "
                    + org.xenj.hypervisor.internal.platform.AcpiPm.GPE_VMGENID + " raised for the guest's ACPI (SCI once enabled)");
        } else {
            core.log("d" + d.id + " (" + d.name + ") " + why + ": warning: " + Domain.NO_GENERATION_ID_WARNING);
        }
    }

    /** The clone's configuration with each writable disk on its new overlay (by vdev). */
    private static DomainConfig cloneDisks(DiskBranching b, DomainConfig c, List<SnapshotIndex.Disk> images, List<Path> overlays) {
        if (b == null) {
            return c;
        }
        List<SnapshotDisks.Branch> disks = SnapshotDisks.writable(b, c);
        List<Path> on = new ArrayList<>();
        for (SnapshotDisks.Branch k : disks) {
            int i = 0;
            while (i < images.size() && !images.get(i).vdev().equals(k.disk().vdev())) {
                i++;
            }
            if (i == images.size()) {
                throw new HypervisorException("the snapshot holds no image of the writable disk " + k.disk().vdev());
            }
            on.add(overlays.get(i));
        }
        return SnapshotDisks.retarget(b, c, disks, on);
    }

    private void resume(DomainImpl d, boolean wasPaused) {
        capture.resume(d, wasPaused);
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

    private void requireCapturable(DomainImpl d, String what) {
        requireCapturable(d, what, false);
    }

    /**
     * What a snapshot or a live clone needs: a saveable HVM guest; writable disks only for a
     * snapshot with a disk-branching service here ({@code branching}).
     */
    private void requireCapturable(DomainImpl d, String what, boolean branching) {
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
            String disk = BranchConfigs.writableDisk(d.config);
            if (disk != null && !branching) {
                // cloneDomain takes a snapshot first for these; this is the guard that it did
                why = "its disk '" + disk + "' is writable: a clone of its state now would share it";
            } else if (disk != null && core.diskBranching() == null) {
                why = "its disk '" + disk + "' is writable and no disk-branching service (qemu-dm with the block layer) is running";
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

    private SnapshotInfo info(DomainImpl d, SnapshotIndex x, SnapshotIndex.Entry e, long pausedNanos) {
        return new SnapshotInfo(d.name, e.name(), e.parent(), e.name().equals(x.current), e.createdMillis(), e.guestNanos(), e.bytes(),
                pausedNanos, x.image(e.name()).toString());
    }

    /** A clone's tree that never came to be: its index and folder (its overlays are gone already). */
    private void removeTree(Path dir) {
        deleteQuietly(dir.resolve("index"));
        deleteQuietly(dir);
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
