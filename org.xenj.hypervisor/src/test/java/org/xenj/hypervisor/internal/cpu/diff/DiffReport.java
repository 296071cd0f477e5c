package org.xenj.hypervisor.internal.cpu.diff;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Command-line differential run for {@code tests/cpu-diff-report.sh}: a large seeded run over all
 * groups; prints {@code group=<g> oracle=<o> cases=<n> mismatches=<m>} per group and oracle, the
 * first three mismatches of each (all in target/cpu-diff-report.txt) and a closing
 * {@code total compared=<n> mismatches=<m> uncompared=<k>} line. Exit status 1 on any mismatch,
 * 3 when nothing at all could be compared. Arguments: [cases per group] [seed]. Run from the
 * org.xenj.hypervisor directory.
 */
public final class DiffReport {

    private DiffReport() {
    }

    public static void main(String[] args) throws Exception {
        int perGroup = args.length > 0 ? Integer.parseInt(args[0]) : 20000;
        long seed = args.length > 1 ? Long.decode(args[1]) : 0x5EEDL;
        Map<String, DiffRun.GroupResult> results = DiffRun.runAll(seed, perGroup);
        List<String> all = new ArrayList<>();
        int compared = 0, uncompared = 0;
        for (DiffRun.GroupResult r : results.values()) {
            r.mismatches.stream().limit(3).forEach(m -> System.err.println("MISMATCH " + m));
            all.addAll(r.mismatches);
            if (r.oracle == Oracle.NONE) {
                uncompared += r.cases;
            } else {
                compared += r.cases - r.unfinished.size();
                uncompared += r.unfinished.size();
            }
        }
        Files.write(Paths.get("target/cpu-diff-report.txt"), all);
        System.out.printf("total compared=%d mismatches=%d uncompared=%d%n", compared, all.size(), uncompared);
        System.exit(!all.isEmpty() ? 1 : compared == 0 ? 3 : 0);
    }
}
