package org.xenj.hypervisor.internal.domain;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.xenj.hypervisor.api.HypervisorException;

/**
 * A domain's snapshot tree as it is kept on disk: {@code <dir>/index}, a small text file with one
 * line per snapshot ({@code snapshot <TAB> name <TAB> parent|- <TAB> created ms <TAB> guest ns
 * <TAB> bytes}), one per disk image of the tree ({@code disk <TAB> snapshot|- <TAB> vdev <TAB> raw|qcow2
 * <TAB> absolute path}: a snapshot's image, or {@code -} for the running branch's overlay) and one
 * {@code current <TAB> name|-} line last (so a file cut short is found),
 * written to a temporary file, synced and renamed, so a crash leaves the old index or the new one.
 * The images lie beside it as {@code <name>.xjsnap}. A line that does not parse, a parent that is not in the file, a cycle or a
 * current snapshot that does not exist is refused with the line named: the tree is then left
 * alone rather than guessed at.
 */
final class SnapshotIndex {

    static final String HEADER = "# xenj snapshot index 1";
    static final String SUFFIX = ".xjsnap";
    /** Names become file names: no separators, no leading dot, nothing a shell would mangle. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+-]{0,63}");

    record Entry(String name, String parent, long createdMillis, long guestNanos, long bytes) {
    }

    /**
     * A disk image of the tree: {@code owner} the snapshot whose disk state it holds (read-only, a
     * backing file of what came after), or null for the running branch's overlay.
     */
    record Disk(String owner, String vdev, String format, Path image) {
    }

    private static final Pattern VDEV = Pattern.compile("[a-z][a-z0-9]{1,15}");

    final Path dir;
    final Map<String, Entry> entries = new LinkedHashMap<>();
    /** Every snapshot's disk images and the running branch's overlays ({@code disk} lines). */
    final List<Disk> disks = new ArrayList<>();
    String current;

    private SnapshotIndex(Path dir) {
        this.dir = dir;
    }

    static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new HypervisorException("bad snapshot name '" + name + "': 1 to 64 of A-Z a-z 0-9 . _ + -, starting with a letter or digit");
        }
    }

    Path image(String name) {
        return dir.resolve(name + SUFFIX);
    }

    /** The index of the tree in {@code dir}; empty when there is none yet. */
    static SnapshotIndex load(Path dir) {
        List<String> lines;
        try {
            lines = Files.readAllLines(dir.resolve("index"), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return new SnapshotIndex(dir);
        } catch (IOException e) {
            throw new HypervisorException("cannot read the snapshot index " + dir.resolve("index") + ": " + e.getMessage(), e);
        }
        return parse(dir, lines);
    }

    /** The index in {@code lines} (the file at {@code dir}, for messages); refuses damage as {@link #load} says. */
    static SnapshotIndex parse(Path dir, List<String> lines) {
        SnapshotIndex x = new SnapshotIndex(dir);
        String cur = null;
        boolean sawCurrent = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (i == 0 ? !line.equals(HEADER) : line.isEmpty()) {
                throw damaged(dir, i + 1, i == 0 ? "not a xenj snapshot index of version 1" : "empty line");
            }
            if (i == 0) {
                continue;
            }
            String[] f = line.split("\t", -1);
            try {
                if (f[0].equals("snapshot") && f.length == 6) {
                    String parent = f[2].equals("-") ? null : f[2];
                    if (!NAME.matcher(f[1]).matches() || parent != null && !NAME.matcher(parent).matches()) {
                        throw damaged(dir, i + 1, "bad snapshot name in '" + line + "'");
                    }
                    if (x.entries.containsKey(f[1])) {
                        throw damaged(dir, i + 1, "snapshot '" + f[1] + "' twice");
                    }
                    x.entries.put(f[1], new Entry(f[1], parent, Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5])));
                } else if (f[0].equals("disk") && f.length == 5 && !sawCurrent) {
                    String owner = f[1].equals("-") ? null : f[1];
                    if (owner != null && !x.entries.containsKey(owner) || !VDEV.matcher(f[2]).matches()
                            || !f[3].equals("raw") && !f[3].equals("qcow2") || f[4].isEmpty() || !Path.of(f[4]).isAbsolute()) {
                        throw damaged(dir, i + 1, "bad disk line '" + line + "' (owner a snapshot above or -, vdev, raw|qcow2, absolute path)");
                    }
                    for (Disk k : x.disks) {
                        if (java.util.Objects.equals(k.owner(), owner) && k.vdev().equals(f[2])) {
                            throw damaged(dir, i + 1, "disk " + f[2] + " of " + f[1] + " twice");
                        }
                    }
                    x.disks.add(new Disk(owner, f[2], f[3], Path.of(f[4])));
                } else if (f[0].equals("current") && f.length == 2 && !sawCurrent && (f[1].equals("-") || NAME.matcher(f[1]).matches())) {
                    sawCurrent = true;
                    cur = f[1].equals("-") ? null : f[1];
                } else {
                    throw damaged(dir, i + 1, "cannot parse '" + line + "'");
                }
            } catch (NumberFormatException e) {
                throw damaged(dir, i + 1, "not a number: " + e.getMessage());
            } catch (java.nio.file.InvalidPathException e) {
                throw damaged(dir, i + 1, "not a path: " + e.getMessage());
            }
        }
        if (lines.isEmpty()) {
            throw damaged(dir, 1, "empty file");
        }
        if (!sawCurrent || !lines.get(lines.size() - 1).startsWith("current\t")) {
            // the current line is written last: without it the file was cut short and snapshots may be missing
            throw damaged(dir, lines.size(), "it does not end with the 'current' line (cut short?)");
        }
        for (Entry e : x.entries.values()) {
            int depth = 0;
            for (Entry p = e; p.parent() != null; p = x.entries.get(p.parent())) {
                if (!x.entries.containsKey(p.parent())) {
                    throw damaged(dir, 0, "snapshot '" + p.name() + "' has parent '" + p.parent() + "', which is not in it");
                }
                if (++depth > x.entries.size()) {
                    throw damaged(dir, 0, "the parent links of '" + e.name() + "' form a cycle");
                }
            }
        }
        if (cur != null && !x.entries.containsKey(cur)) {
            throw damaged(dir, 0, "the current snapshot '" + cur + "' is not in it");
        }
        x.current = cur;
        return x;
    }

    private static HypervisorException damaged(Path dir, int line, String why) {
        return new HypervisorException("the snapshot index " + dir.resolve("index") + (line > 0 ? " is damaged at line " + line : " is damaged")
                + ": " + why + "; nothing was changed (repair or remove it)");
    }

    /** Writes the index to a synced temporary file and renames it over the old one. */
    void store() throws IOException {
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        for (Entry e : entries.values()) {
            sb.append("snapshot\t").append(e.name()).append('\t').append(e.parent() == null ? "-" : e.parent()).append('\t')
                    .append(e.createdMillis()).append('\t').append(e.guestNanos()).append('\t').append(e.bytes()).append('\n');
        }
        for (Disk k : disks) {
            sb.append("disk\t").append(k.owner() == null ? "-" : k.owner()).append('\t').append(k.vdev()).append('\t')
                    .append(k.format()).append('\t').append(k.image().toAbsolutePath()).append('\n');
        }
        sb.append("current\t").append(current == null ? "-" : current).append('\n');
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".index.", ".part");
        try {
            Files.writeString(tmp, sb, StandardCharsets.UTF_8);
            SaveRestore.syncAndRename(tmp, dir.resolve("index"));
            tmp = null;
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** The disk images of snapshot {@code owner} (null: the running branch's overlays). */
    List<Disk> disksOf(String owner) {
        return disks.stream().filter(k -> java.util.Objects.equals(k.owner(), owner)).toList();
    }

    /** Parents before children; roots and siblings oldest first. */
    List<Entry> treeOrder() {
        List<Entry> out = new ArrayList<>();
        addChildren(null, out);
        return out;
    }

    private void addChildren(String parent, List<Entry> out) {
        List<Entry> kids = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (java.util.Objects.equals(e.parent(), parent)) {
                kids.add(e);
            }
        }
        kids.sort(Comparator.comparingLong(Entry::createdMillis));
        for (Entry k : kids) {
            out.add(k);
            addChildren(k.name(), out);
        }
    }
}
