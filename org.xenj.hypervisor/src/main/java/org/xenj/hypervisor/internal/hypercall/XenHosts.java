package org.xenj.hypervisor.internal.hypercall;

import java.util.Map;
import java.util.WeakHashMap;

/**
 * One {@link XenHost} per machine memory: the PV builder, the HVM platform's Xen support and the
 * toolstack side all reach the same event channels, grant tables and xenstore through it.
 */
public final class XenHosts {

    private static final Map<org.xenj.hypervisor.internal.mem.MachineMemory, XenHost> HOSTS = new WeakHashMap<>();
    private static final java.util.List<org.xenj.hypervisor.spi.hypercall.HypercallExtension> EXTENSIONS = new java.util.ArrayList<>();

    private XenHosts() {
    }

    public static synchronized XenHost forMachine(org.xenj.hypervisor.internal.mem.MachineMemory machine) {
        return HOSTS.computeIfAbsent(machine, m -> {
            XenHost h = new XenHost(m);
            EXTENSIONS.forEach(h.dispatcher::addExtension);
            return h;
        });
    }

    /** Offers a hypercall extension to every host, now and later; false if its number is taken. */
    public static synchronized boolean addExtension(org.xenj.hypervisor.spi.hypercall.HypercallExtension ext) {
        EXTENSIONS.add(ext);
        boolean ok = true;
        for (XenHost h : HOSTS.values()) {
            ok &= h.dispatcher.addExtension(ext);
        }
        return ok && !new HypercallDispatcher().builtIn(ext.number());
    }

    public static synchronized void removeExtension(org.xenj.hypervisor.spi.hypercall.HypercallExtension ext) {
        EXTENSIONS.remove(ext);
        for (XenHost h : HOSTS.values()) {
            h.dispatcher.removeExtension(ext);
        }
    }
}
