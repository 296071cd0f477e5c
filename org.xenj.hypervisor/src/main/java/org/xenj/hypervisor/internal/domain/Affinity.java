package org.xenj.hypervisor.internal.domain;

import java.util.TreeSet;

import org.xenj.hypervisor.api.HypervisorException;

/** Parses xl's {@code cpus=} syntax: {@code "all"}, {@code "0-1,3"}; returns null for all. */
final class Affinity {

    private Affinity() {
    }

    static int[] parse(String text, int nrPcpus) {
        if (text == null || text.isBlank() || text.trim().equals("all")) {
            return null;
        }
        TreeSet<Integer> set = new TreeSet<>();
        for (String part : text.split(",")) {
            String p = part.trim();
            try {
                int dash = p.indexOf('-');
                int lo = Integer.parseInt(dash < 0 ? p : p.substring(0, dash).trim());
                int hi = dash < 0 ? lo : Integer.parseInt(p.substring(dash + 1).trim());
                if (lo < 0 || hi < lo || hi >= nrPcpus) {
                    throw new HypervisorException("cpus='" + text + "': pCPUs are 0.." + (nrPcpus - 1));
                }
                for (int i = lo; i <= hi; i++) {
                    set.add(i);
                }
            } catch (NumberFormatException e) {
                throw new HypervisorException("cpus='" + text + "': expected e.g. \"0-1,3\" or \"all\"");
            }
        }
        return set.stream().mapToInt(Integer::intValue).toArray();
    }
}
