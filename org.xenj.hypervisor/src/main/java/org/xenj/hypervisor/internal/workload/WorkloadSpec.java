package org.xenj.hypervisor.internal.workload;

import org.xenj.hypervisor.api.HypervisorException;

/** A parsed {@code workload=} value: {@code spin}, {@code idle} or {@code duty:<percent>}. */
public record WorkloadSpec(Kind kind, int dutyPercent) {

    public enum Kind { SPIN, IDLE, DUTY }

    public static WorkloadSpec parse(String text) {
        String t = text == null ? "spin" : text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.isEmpty() || t.equals("spin")) {
            return new WorkloadSpec(Kind.SPIN, 100);
        }
        if (t.equals("idle")) {
            return new WorkloadSpec(Kind.IDLE, 0);
        }
        if (t.startsWith("duty:")) {
            try {
                int pct = Integer.parseInt(t.substring(5).trim());
                if (pct >= 1 && pct <= 100) {
                    return new WorkloadSpec(Kind.DUTY, pct);
                }
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
        }
        throw new HypervisorException("bad workload '" + text + "': expected spin, idle or duty:<1..100>");
    }
}
