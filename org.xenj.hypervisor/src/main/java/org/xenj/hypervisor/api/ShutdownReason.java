package org.xenj.hypervisor.api;

/** Xen's {@code SHUTDOWN_*} reasons, with their ABI codes (sched.h). */
public enum ShutdownReason {
    POWEROFF(0), REBOOT(1), SUSPEND(2), CRASH(3), WATCHDOG(4), SOFT_RESET(5);

    private final int code;

    ShutdownReason(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The reason for an ABI code, or {@code null} if the code is not one Xen defines. */
    public static ShutdownReason ofCode(int code) {
        for (ShutdownReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return null;
    }
}
