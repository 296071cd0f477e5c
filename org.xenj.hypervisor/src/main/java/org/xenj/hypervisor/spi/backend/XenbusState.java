package org.xenj.hypervisor.spi.backend;

/**
 * The xenbus state of a frontend or backend device directory ({@code .../state} in xenstore),
 * with Xen's numeric values ({@code io/xenbus.h}).
 */
public enum XenbusState {
    UNKNOWN(0),
    INITIALISING(1),
    /** Backend: waiting for the frontend's details (hot-plug done). */
    INIT_WAIT(2),
    /** Frontend: ring and event channel published. */
    INITIALISED(3),
    CONNECTED(4),
    CLOSING(5),
    CLOSED(6),
    RECONFIGURING(7),
    RECONFIGURED(8);

    private final int value;

    XenbusState(int value) {
        this.value = value;
    }

    /** The number written to xenstore. */
    public int value() {
        return value;
    }

    /** The state of a number, {@link #UNKNOWN} for anything else (a peer may write garbage). */
    public static XenbusState of(int value) {
        XenbusState[] all = values();
        return value >= 0 && value < all.length ? all[value] : UNKNOWN;
    }

    /** The state of a xenstore value such as {@code "4"}; {@link #UNKNOWN} when it is not a state number. */
    public static XenbusState parse(String text) {
        if (text == null) {
            return UNKNOWN;
        }
        String t = text.trim();
        if (t.isEmpty() || t.length() > 2) {
            return UNKNOWN;
        }
        for (int i = 0; i < t.length(); i++) {
            if (t.charAt(i) < '0' || t.charAt(i) > '9') {
                return UNKNOWN;
            }
        }
        return of(Integer.parseInt(t));
    }
}
