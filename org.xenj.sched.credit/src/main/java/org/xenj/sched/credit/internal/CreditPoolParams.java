package org.xenj.sched.credit.internal;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pool-wide credit parameters (Xen's {@code xl sched-credit -s}): the timeslice and the ratelimit.
 * The tick is a third of the timeslice and accounting runs once per timeslice, as in Xen.
 */
record CreditPoolParams(int tsliceMs, int ratelimitUs) {

    static final String TSLICE_MS = "tslice_ms";
    static final String RATELIMIT_US = "ratelimit_us";

    static final int DEFAULT_TSLICE_MS = 30;
    static final int DEFAULT_RATELIMIT_US = 1000;
    static final int TSLICE_MIN_MS = 1;
    static final int TSLICE_MAX_MS = 1000;
    static final int RATELIMIT_MIN_US = 100;
    static final int RATELIMIT_MAX_US = 500_000;
    /** Xen splits a timeslice into three ticks. */
    static final int TICKS_PER_TSLICE = 3;

    static final CreditPoolParams DEFAULTS = new CreditPoolParams(DEFAULT_TSLICE_MS, DEFAULT_RATELIMIT_US);

    CreditPoolParams {
        if (tsliceMs < TSLICE_MIN_MS || tsliceMs > TSLICE_MAX_MS) {
            throw new IllegalArgumentException("credit: " + TSLICE_MS + " must be in " + TSLICE_MIN_MS + ".."
                    + TSLICE_MAX_MS + ", got " + tsliceMs);
        }
        if (ratelimitUs != 0 && (ratelimitUs < RATELIMIT_MIN_US || ratelimitUs > RATELIMIT_MAX_US)) {
            throw new IllegalArgumentException("credit: " + RATELIMIT_US + " must be 0 (off) or in " + RATELIMIT_MIN_US
                    + ".." + RATELIMIT_MAX_US + ", got " + ratelimitUs);
        }
        if ((long) ratelimitUs > tsliceMs * 1000L) {
            throw new IllegalArgumentException("credit: " + RATELIMIT_US + " (" + ratelimitUs
                    + ") must not exceed the timeslice (" + TSLICE_MS + "=" + tsliceMs + " = " + tsliceMs * 1000L + " us)");
        }
    }

    long tsliceNanos() {
        return tsliceMs * 1_000_000L;
    }

    long tickNanos() {
        return tsliceNanos() / TICKS_PER_TSLICE;
    }

    long ratelimitNanos() {
        return ratelimitUs * 1_000L;
    }

    /** These parameters with the keys of {@code changes} applied; unknown keys are ignored. */
    CreditPoolParams with(Map<String, String> changes) {
        int tslice = tsliceMs;
        int ratelimit = ratelimitUs;
        if (changes.containsKey(TSLICE_MS)) {
            tslice = ParamParser.parseInt("credit", TSLICE_MS, changes.get(TSLICE_MS));
        }
        if (changes.containsKey(RATELIMIT_US)) {
            ratelimit = ParamParser.parseInt("credit", RATELIMIT_US, changes.get(RATELIMIT_US));
        }
        return new CreditPoolParams(tslice, ratelimit);
    }

    Map<String, String> toMap() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put(TSLICE_MS, Integer.toString(tsliceMs));
        map.put(RATELIMIT_US, Integer.toString(ratelimitUs));
        return map;
    }
}
