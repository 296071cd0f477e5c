package org.xenj.dom0.toolstack.internal.command;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.api.SnapshotInfo;

/**
 * Draws a domain's snapshot tree as {@code virsh snapshot-list --tree} does, with the facts xl
 * users want beside each name: children under their parent with {@code +-} and {@code |} guides
 * (ASCII, so scripts and logs read it too), the current snapshot marked {@code *}, then when it
 * was taken, the guest time it holds and its image's size.
 */
final class SnapshotTree {

    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private SnapshotTree() {
    }

    /** {@code snapshots} in the hypervisor's order (parents before children); one line each. */
    static List<String> draw(List<SnapshotInfo> snapshots, ZoneId zone) {
        Map<String, List<SnapshotInfo>> children = new HashMap<>();
        List<SnapshotInfo> roots = new ArrayList<>();
        for (SnapshotInfo s : snapshots) {
            if (s.parent() == null) {
                roots.add(s);
            } else {
                children.computeIfAbsent(s.parent(), k -> new ArrayList<>()).add(s);
            }
        }
        List<String[]> rows = new ArrayList<>();
        for (SnapshotInfo r : roots) {
            walk(r, "", "", children, rows, zone);
        }
        int width = 4;
        for (String[] r : rows) {
            width = Math.max(width, r[0].length());
        }
        List<String> out = new ArrayList<>();
        out.add(String.format("%-" + width + "s  %-19s  %12s  %10s", "Name", "Created", "Guest time", "Size"));
        for (String[] r : rows) {
            out.add(String.format("%-" + width + "s  %-19s  %12s  %10s", r[0], r[1], r[2], r[3]).stripTrailing());
        }
        return out;
    }

    private static void walk(SnapshotInfo s, String lead, String childLead, Map<String, List<SnapshotInfo>> children, List<String[]> rows,
            ZoneId zone) {
        rows.add(new String[] {lead + s.name() + (s.current() ? " *" : ""), WHEN.format(Instant.ofEpochMilli(s.createdMillis()).atZone(zone)),
            String.format("%.3f s", s.guestNanos() / 1e9), size(s.bytes())});
        List<SnapshotInfo> kids = children.getOrDefault(s.name(), List.of());
        for (int i = 0; i < kids.size(); i++) {
            boolean lastKid = i == kids.size() - 1;
            walk(kids.get(i), childLead + "+- ", childLead + (lastKid ? "   " : "|  "), children, rows, zone);
        }
    }

    static String size(long bytes) {
        if (bytes < 10 * 1024) {
            return bytes + " B";
        }
        if (bytes < 10L * 1024 * 1024) {
            return String.format("%.1f KiB", bytes / 1024.0);
        }
        return String.format("%.1f MiB", bytes / (1024.0 * 1024));
    }

    /** The line under the table: which snapshot is current, if any. */
    static String currentLine(List<SnapshotInfo> snapshots) {
        return snapshots.stream().filter(SnapshotInfo::current).map(s -> "current: " + s.name()).findFirst()
                .orElse(snapshots.isEmpty() ? "no snapshots" : "current: none");
    }
}
