package org.xenj.hypervisor.api;

import java.util.Locale;

/** What the toolstack does when a domain shuts down: xl.cfg on_poweroff / on_reboot / on_crash. */
public enum ShutdownAction {
    DESTROY, RESTART, RENAME_RESTART, PRESERVE, COREDUMP_DESTROY, COREDUMP_RESTART, SOFT_RESET;

    /** xl.cfg spelling: {@code rename-restart}. */
    public String xlName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static ShutdownAction parse(String xlName) {
        for (ShutdownAction a : values()) {
            if (a.xlName().equals(xlName)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown action '" + xlName + "' (expected one of destroy, restart, "
                + "rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset)");
    }
}
