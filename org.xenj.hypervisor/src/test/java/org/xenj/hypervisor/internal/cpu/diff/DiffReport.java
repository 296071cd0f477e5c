package org.xenj.hypervisor.internal.cpu.diff;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Command-line differential run for {@code tests/cpu-diff-report.sh}: a large seeded run over all
 * groups; prints {@code group=<g> cases=<n> mismatches=<m>} lines and the first three mismatches per group (all of them in target/cpu-diff-report.txt).
 * Arguments: [cases per group] [seed]. Run from the org.xenj.hypervisor directory.
 */
public final class DiffReport {

    private DiffReport() {
    }

    public static void main(String[] args) throws Exception {
        int perGroup = args.length > 0 ? Integer.parseInt(args[0]) : 20000;
        long seed = args.length > 1 ? Long.decode(args[1]) : 0x5EEDL;
        Map<String, Integer> counts = new LinkedHashMap<>();
        Map<String, List<String>> mismatches = DiffRun.runAll(seed, perGroup, counts);
        List<String> all = new java.util.ArrayList<>();
        for (List<String> list : mismatches.values()) {
            list.stream().limit(3).forEach(m -> System.err.println("MISMATCH " + m));
            all.addAll(list);
        }
        java.nio.file.Files.write(java.nio.file.Paths.get("target/cpu-diff-report.txt"), all);
        int total = mismatches.values().stream().mapToInt(List::size).sum();
        System.out.printf("total cases=%d mismatches=%d%n", counts.values().stream().mapToInt(Integer::intValue).sum(), total);
    }
}
