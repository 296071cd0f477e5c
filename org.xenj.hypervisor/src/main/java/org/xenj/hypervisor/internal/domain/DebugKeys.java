package org.xenj.hypervisor.internal.domain;

import java.util.function.Consumer;

import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;

/**
 * Xen's debug keys ({@code xl debug-keys}), answered into the hypervisor log. The dumps read state
 * that running vCPUs may be changing (Xen sends an IPI; a snapshot taken from another thread is as
 * good for telling a spinning guest from a blocked one, and never disturbs the guest).
 */
final class DebugKeys {

    private DebugKeys() {
    }

    static void handle(String keys, Iterable<DomainImpl> domains, Consumer<String> log) {
        for (char k : keys.toCharArray()) {
            switch (k) {
                case 'h' -> {
                    log.accept("'h' pressed -> showing installed handlers");
                    log.accept(" key 'd' (ascii 64) => dump registers and, for HVM domains, interrupt controllers and timers");
                    log.accept(" key 'h' (ascii 68) => show this message");
                    log.accept(" key 'q' (ascii 71) => dump domain (and guest debug) info");
                }
                case 'd' -> {
                    log.accept("'d' pressed -> dumping registers");
                    for (DomainImpl d : domains) {
                        dumpRegisters(d, log);
                    }
                }
                case 'q' -> {
                    log.accept("'q' pressed -> dumping domain info");
                    for (DomainImpl d : domains) {
                        log.accept(String.format("General information for domain %d (%s): %s, phase %s, %d vCPU(s), paused %s%s", d.id,
                                d.name, d.config.type(), d.phase, d.config.vcpus(), d.userPaused,
                                d.awaitingDevices ? ", waiting for a device model" : ""));
                    }
                }
                case ' ', '\n', '\t' -> {
                }
                default -> log.accept(String.format("'%c' (ascii %02x): no such debug key; 'h' lists them", k, (int) k));
            }
        }
    }

    private static void dumpRegisters(DomainImpl d, Consumer<String> log) {
        Guest g = d.guest;
        if (g == null) {
            log.accept("d" + d.id + " (" + d.name + "): not built yet");
            return;
        }
        for (int v = 0; v < d.config.vcpus(); v++) {
            VCpuExecutor e;
            try {
                e = g.executor(v);
            } catch (RuntimeException ex) {
                continue;
            }
            if (e == null) {
                continue;
            }
            for (String line : ("*** Dumping d" + d.id + "v" + v + " (" + d.name + ")\n" + e.debugState()).split("\n")) {
                log.accept(line);
            }
        }
        String platform = g.debugState();
        if (!platform.isEmpty()) {
            for (String line : ("*** d" + d.id + " platform\n" + platform).split("\n")) {
                log.accept(line);
            }
        }
    }
}
