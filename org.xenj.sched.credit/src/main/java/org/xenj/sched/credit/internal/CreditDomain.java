package org.xenj.sched.credit.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Per-domain credit parameters and the cap budget shared by the domain's vCPUs. */
final class CreditDomain {

    static final String WEIGHT = "weight";
    static final String CAP = "cap";
    static final int DEFAULT_WEIGHT = 256;
    static final int MIN_WEIGHT = 1;
    static final int MAX_WEIGHT = 65535;
    /** Without a known vCPU count, a cap may not exceed what 128 vCPUs could use. */
    static final int MAX_VCPUS_FOR_CAP = 128;

    final int domid;
    int weight = DEFAULT_WEIGHT;
    /** Percent of one pCPU the whole domain may use; 0 = uncapped. */
    int cap;
    /** Parameters were set explicitly: the first vCPU's configured weight/cap no longer apply. */
    boolean configured;
    final List<CreditVCpu> vcpus = new ArrayList<>(2);

    /**
     * Nanoseconds the domain may still run before it is parked (only when capped). Refilled at each
     * accounting by the cap's share of the period, never above one period's worth, so a domain that
     * ran less cannot save up for a burst above its cap; an overrun is paid back next period.
     */
    long capBudget;

    /** Scratch fields of the accounting pass. */
    int activeVCpus;
    long share;
    boolean shareFixed;

    CreditDomain(int domid) {
        this.domid = domid;
    }

    boolean isCapped() {
        return cap > 0;
    }

    long capPerPeriod(long periodNanos) {
        return periodNanos * cap / 100;
    }

    /** Validates all keys first, then applies them, so a bad value changes nothing. */
    void apply(Map<String, String> params, long periodNanos) {
        int newWeight = weight;
        int newCap = cap;
        if (params.containsKey(WEIGHT)) {
            newWeight = ParamParser.parseInt("credit", WEIGHT, params.get(WEIGHT));
            checkWeight(newWeight);
        }
        if (params.containsKey(CAP)) {
            newCap = ParamParser.parseInt("credit", CAP, params.get(CAP));
            checkCap(newCap, vcpus.isEmpty() ? MAX_VCPUS_FOR_CAP : vcpus.size());
        }
        weight = newWeight;
        if (newCap != cap) {
            cap = newCap;
            capBudget = capPerPeriod(periodNanos);
        }
        configured = true;
    }

    static void checkWeight(int weight) {
        if (weight < MIN_WEIGHT || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("credit: " + WEIGHT + " must be in " + MIN_WEIGHT + ".." + MAX_WEIGHT
                    + ", got " + weight);
        }
    }

    static void checkCap(int cap, int vcpuCount) {
        int max = 100 * vcpuCount;
        if (cap < 0 || cap > max) {
            throw new IllegalArgumentException("credit: " + CAP + " must be in 0..." + max
                    + " (percent of one pCPU, 0 = no cap, at most 100 per vCPU), got " + cap);
        }
    }

    Map<String, String> toMap() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put(WEIGHT, Integer.toString(weight));
        map.put(CAP, Integer.toString(cap));
        return map;
    }
}
