package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.HypervisorException;

/**
 * The snapshot index is read back from disk on every operation: damaged copies (bit flips, lost,
 * doubled and swapped lines, truncations, stray tabs) must each be refused with the index named
 * or read as a consistent tree — never an internal error, a dangling parent or a loop.
 */
class SnapshotIndexFuzzTest {

    @TempDir
    Path dir;

    @Test
    void damagedIndexesAreRefusedOrReadAsAConsistentTree() throws Exception {
        String good = SnapshotIndex.HEADER + "\n"
                + "snapshot\ta\t-\t1000\t5\t100\n"
                + "snapshot\tb\ta\t2000\t6\t200\n"
                + "snapshot\tc\tb\t3000\t7\t300\n"
                + "snapshot\td\ta\t4000\t8\t400\n"
                + "disk\ta\thda\traw\t/srv/hda.raw\n"
                + "disk\tb\thda\tqcow2\t/x/t/disk-hda-0000aaaa.qcow2\n"
                + "disk\t-\thda\tqcow2\t/x/t/disk-hda-0000bbbb.qcow2\n"
                + "current\tc\n";
        Files.writeString(dir.resolve("index"), good);
        assertEquals(4, SnapshotIndex.load(dir).treeOrder().size());
        Random rnd = new Random(15_3);
        int refused = 0, read = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < 2000; i++) {
            byte[] b = mutate(good, rnd);
            try {
                // as Files.readAllLines reads the file (UTF-8, lines split at \n, \r\n or \r)
                SnapshotIndex x = SnapshotIndex.parse(dir, new String(b, StandardCharsets.UTF_8).lines().toList());
                assertEquals(x.entries.size(), x.treeOrder().size(), "every entry reachable from a root: " + new String(b,
                        StandardCharsets.UTF_8));
                assertTrue(x.current == null || x.entries.containsKey(x.current));
                x.entries.values().forEach(e -> assertTrue(e.parent() == null || x.entries.containsKey(e.parent())));
                // a disk image belongs to a snapshot in the tree or to the running branch, and is named by an absolute path
                x.disks.forEach(k -> assertTrue((k.owner() == null || x.entries.containsKey(k.owner())) && k.image().isAbsolute()
                        && (k.format().equals("raw") || k.format().equals("qcow2")), k.toString()));
                read++;
            } catch (HypervisorException e) {
                assertTrue(e.getMessage().startsWith("the snapshot index ") || e.getMessage().startsWith("cannot read the snapshot index"),
                        e.getMessage());
                refused++;
            } catch (RuntimeException e) {
                fail("internal error " + e + " on:\n" + new String(b, StandardCharsets.UTF_8), e);
            }
        }
        System.out.printf("index fuzz: 2000 damaged copies, %d refused, %d read as a consistent tree, %.0f ms%n", refused, read,
                (System.nanoTime() - t0) / 1e6);
        assertTrue(refused > 1400, "most damage is found: " + refused);
    }

    @Test
    void diskLinesRoundTripAndBadOnesAreRefusedWithTheLineNamed() throws Exception {
        Path tree = dir.resolve("t");
        Files.createDirectories(tree);
        String good = SnapshotIndex.HEADER + "\nsnapshot\ts1\t-\t1\t2\t3\ndisk\ts1\thda\traw\t/srv/a.raw\n"
                + "disk\t-\thda\tqcow2\t/srv/t/disk-hda-1.qcow2\ncurrent\ts1\n";
        Files.writeString(tree.resolve("index"), good);
        SnapshotIndex x = SnapshotIndex.load(tree);
        assertEquals(List.of(new SnapshotIndex.Disk("s1", "hda", "raw", Path.of("/srv/a.raw"))), x.disksOf("s1"));
        assertEquals(Path.of("/srv/t/disk-hda-1.qcow2"), x.disksOf(null).get(0).image());
        x.store();
        assertEquals(good, Files.readString(tree.resolve("index")), "stored as read");
        for (String bad : List.of("disk\ts2\thda\traw\t/srv/a.raw", "disk\ts1\thda\traw\trelative.raw",
                "disk\ts1\thda\tvmdk\t/srv/a.vmdk", "disk\ts1\tHDA\traw\t/srv/a.raw", "disk\ts1\thda\traw",
                "disk\t-\thda\tqcow2\t/srv/t/disk-hda-1.qcow2")) {
            List<String> lines = new java.util.ArrayList<>(good.lines().toList());
            lines.add(lines.size() - 1, bad);
            HypervisorException e = org.junit.jupiter.api.Assertions.assertThrows(HypervisorException.class,
                    () -> SnapshotIndex.parse(tree, lines), bad);
            assertTrue(e.getMessage().contains("is damaged at line 5"), e.getMessage());
        }
    }

    private static byte[] mutate(String good, Random rnd) {
        String[] lines = good.split("\n", -1);
        switch (rnd.nextInt(6)) {
            case 0 -> { // flip a bit
                byte[] b = good.getBytes(StandardCharsets.UTF_8);
                b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                return b;
            }
            case 1 -> { // truncate
                byte[] b = good.getBytes(StandardCharsets.UTF_8);
                return java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            case 2 -> { // drop a line
                int k = rnd.nextInt(lines.length - 1);
                return join(lines, k, null);
            }
            case 3 -> { // double a line
                int k = rnd.nextInt(lines.length - 1);
                return join(lines, -1, new int[] {k});
            }
            case 4 -> { // swap two lines
                int x = rnd.nextInt(lines.length - 1), y = rnd.nextInt(lines.length - 1);
                String t = lines[x];
                lines[x] = lines[y];
                lines[y] = t;
                return String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
            }
            default -> { // a stray tab, newline or parent change
                StringBuilder sb = new StringBuilder(good);
                int at = rnd.nextInt(sb.length());
                String[] junk = {"\t", "\n", "-", "c", "a", "\t-", "99999999999999999999", " "};
                sb.insert(at, junk[rnd.nextInt(junk.length)]);
                return sb.toString().getBytes(StandardCharsets.UTF_8);
            }
        }
    }

    private static byte[] join(String[] lines, int drop, int[] twice) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            if (i == drop) {
                continue;
            }
            sb.append(lines[i]);
            if (i < lines.length - 1) {
                sb.append('\n');
            }
            if (twice != null && twice[0] == i) {
                sb.append(lines[i]).append('\n');
            }
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
