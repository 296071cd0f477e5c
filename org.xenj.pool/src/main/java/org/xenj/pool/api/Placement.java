package org.xenj.pool.api;

/**
 * A placement policy's answer: a host, or a refusal.
 *
 * @param host   the chosen host's name, or {@code ""} when refused
 * @param reason why (shown to the user; for a refusal, what did not fit)
 */
public record Placement(String host, String reason) {

    public Placement {
        if (host == null || reason == null) {
            throw new NullPointerException("host and reason");
        }
    }

    public static Placement on(String host, String reason) {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("a placement names a host");
        }
        return new Placement(host, reason);
    }

    public static Placement refuse(String reason) {
        return new Placement("", reason);
    }

    public boolean refused() {
        return host.isEmpty();
    }
}
