package org.xenj.hypervisor.internal.domain;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.spi.DiskBranching;
import org.xenj.hypervisor.spi.DiskBranching.WritableDisk;

/**
 * The disk side of the VM state tree: libvirt's external snapshots, in xenj's snapshot folder. At a
 * snapshot every disk the guest can write stops being written — its image becomes read-only (write
 * permission removed) and is recorded as the snapshot's — and the running branch goes on in a new
 * qcow2 overlay whose backing file is that image; the domain's configuration names the overlay
 * from then on. A revert or a clone starts a new overlay on the snapshot's image. Overlays are
 * {@code <tree>/disk-<vdev>-<random>.qcow2}; only such files are ever deleted, and only when no
 * index line, no domain here and no kept image leads to them through backing files.
 */
final class SnapshotDisks {

    static final String PREFIX = "disk-";
    static final String SUFFIX = ".qcow2";

    /** One writable disk of a configuration: which {@code disk=} entry it is. */
    record Branch(int spec, WritableDisk disk) {
    }

    private SnapshotDisks() {
    }

    /** The writable disks of {@code c}, in spec order; empty without any. */
    static List<Branch> writable(DiskBranching b, DomainConfig c) {
        List<Branch> out = new ArrayList<>();
        for (int i = 0; i < c.disks().size(); i++) {
            WritableDisk w;
            try {
                w = b.writable(c.disks().get(i));
            } catch (IllegalArgumentException e) {
                throw new HypervisorException("its disk '" + c.disks().get(i) + "' does not parse: " + e.getMessage());
            }
            if (w != null) {
                out.add(new Branch(i, w));
            }
        }
        return out;
    }

    /**
     * A new overlay for each of {@code backings} (vdev and image) in {@code dir}; all or none: a
     * failure (a full disk) deletes those already made and throws.
     */
    static List<Path> createOverlays(DiskBranching b, Path dir, List<SnapshotIndex.Disk> backings) throws IOException {
        Files.createDirectories(dir);
        List<Path> made = new ArrayList<>();
        try {
            for (SnapshotIndex.Disk k : backings) {
                Path o = dir.resolve(PREFIX + k.vdev() + "-" + UUID.randomUUID().toString().substring(0, 8) + SUFFIX);
                b.createOverlay(o, k.image().toAbsolutePath(), k.format());
                made.add(o);
            }
            return made;
        } catch (IOException | RuntimeException e) {
            deleteAll(made);
            throw e;
        }
    }

    /** {@code c} with each branch's disk entry naming its overlay (same order as {@code branches}). */
    static DomainConfig retarget(DiskBranching b, DomainConfig c, List<Branch> branches, List<Path> overlays) {
        List<String> disks = new ArrayList<>(c.disks());
        for (int i = 0; i < branches.size(); i++) {
            disks.set(branches.get(i).spec(), b.retarget(disks.get(branches.get(i).spec()), overlays.get(i)));
        }
        return c.toBuilder().disks(disks).build();
    }

    /** Removes the write permission of an image that now belongs to a snapshot (best effort: logged). */
    static void freeze(Path image, Consumer<String> log) {
        try {
            Set<PosixFilePermission> p = new HashSet<>(Files.getPosixFilePermissions(image));
            p.remove(PosixFilePermission.OWNER_WRITE);
            p.remove(PosixFilePermission.GROUP_WRITE);
            p.remove(PosixFilePermission.OTHERS_WRITE);
            Files.setPosixFilePermissions(image, p);
        } catch (IOException | UnsupportedOperationException e) {
            log.accept("cannot make " + image + " read-only: " + e.getMessage());
        }
    }

    static void deleteAll(List<Path> files) {
        for (Path p : files) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort: an overlay nothing names is harmless, and the next collection removes it
            }
        }
    }

    /**
     * Deletes every overlay under {@code root} ({@code <tree>/disk-*.qcow2}) that nothing needs: not
     * named by any tree's index (a snapshot's image or a running branch), not a disk of a domain
     * here, and not a backing file of one that is. A snapshot's image that backs a live overlay (its
     * children's or a clone's) is therefore kept after the snapshot is deleted — the chain is not
     * committed. If anything cannot be read, nothing is deleted. Returns the files removed.
     */
    static List<Path> collect(Path root, DiskBranching b, List<DomainConfig> domains, Consumer<String> log) {
        List<Path> removed = new ArrayList<>();
        try {
            Set<Path> candidates = new HashSet<>();
            Set<Path> roots = new HashSet<>();
            if (!Files.isDirectory(root)) {
                return removed;
            }
            try (DirectoryStream<Path> trees = Files.newDirectoryStream(root, Files::isDirectory)) {
                for (Path tree : trees) {
                    try (DirectoryStream<Path> files = Files.newDirectoryStream(tree, PREFIX + "*" + SUFFIX)) {
                        files.forEach(f -> candidates.add(f.toAbsolutePath().normalize()));
                    }
                    if (Files.exists(tree.resolve("index"))) {
                        for (SnapshotIndex.Disk k : SnapshotIndex.load(tree).disks) {
                            roots.add(k.image().toAbsolutePath().normalize());
                        }
                    }
                }
            }
            if (candidates.isEmpty()) {
                return removed;
            }
            for (DomainConfig c : domains) {
                for (Branch w : writable(b, c)) {
                    roots.add(w.disk().image().toAbsolutePath().normalize());
                }
            }
            Set<Path> live = new HashSet<>();
            List<Path> todo = new ArrayList<>(roots);
            while (!todo.isEmpty()) {
                Path p = todo.remove(todo.size() - 1);
                if (!live.add(p) || !Files.exists(p)) {
                    continue;
                }
                Path next = b.backingFile(p);
                if (next != null) {
                    todo.add(next.toAbsolutePath().normalize());
                }
            }
            for (Path c : candidates) {
                if (!live.contains(c)) {
                    Files.deleteIfExists(c);
                    removed.add(c);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.accept("snapshot disks: no overlay removed, " + e.getMessage());
        }
        return removed;
    }
}
