package org.xenj.dom0.toolstack.internal.command;

import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.VCpuState;

/** Small renderings shared by the commands, in xl's style. */
final class Formats {

    private Formats() {
    }

    /** xl's six-letter state column: {@code r-----}, {@code -b----}, ... */
    static String stateFlags(DomainState state) {
        char[] flags = "------".toCharArray();
        flags[state.ordinal()] = state.flag();
        return new String(flags);
    }

    /** xl vcpu-list's three-letter column: running, blocked, paused (runnable shows as {@code ---}). */
    static String vcpuState(VCpuState s) {
        switch (s) {
            case RUNNING: return "r--";
            case BLOCKED: return "-b-";
            case PAUSED: return "--p";
            case OFFLINE: return "off";
            default: return "---";
        }
    }

    static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e9);
    }

    static long mib(long kib) {
        return kib / 1024;
    }

    /** {@code 0,1,2,5} → {@code 0-2,5}; empty → {@code all}. */
    static String cpuList(int[] cpus) {
        if (cpus == null || cpus.length == 0) {
            return "all";
        }
        int[] c = IntStream.of(cpus).sorted().distinct().toArray();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < c.length; i++) {
            int start = c[i];
            while (i + 1 < c.length && c[i + 1] == c[i] + 1) {
                i++;
            }
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(start);
            if (c[i] != start) {
                sb.append('-').append(c[i]);
            }
        }
        return sb.toString();
    }

    /**
     * Parses a CPU list like {@code 0-2,5}, {@code ["1","2"]}-joined items, or {@code all}
     * (→ empty array, meaning "no restriction").
     */
    static int[] parseCpuList(String spec) {
        String s = spec.replace(" ", "");
        if (s.equals("all")) {
            return new int[0];
        }
        if (!s.matches("\\d+(-\\d+)?(,\\d+(-\\d+)?)*")) {
            throw new IllegalArgumentException("\"" + spec + "\" is not a CPU list (e.g. 0-2,5 or all)");
        }
        IntStream all = IntStream.empty();
        for (String part : s.split(",")) {
            String[] r = part.split("-");
            int from = Integer.parseInt(r[0]);
            int to = r.length == 2 ? Integer.parseInt(r[1]) : from;
            if (to < from || to > 4095) {
                throw new IllegalArgumentException("bad CPU range \"" + part + "\"");
            }
            all = IntStream.concat(all, IntStream.rangeClosed(from, to));
        }
        return all.distinct().sorted().toArray();
    }

    static String join(int[] values) {
        return IntStream.of(values).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }
}
