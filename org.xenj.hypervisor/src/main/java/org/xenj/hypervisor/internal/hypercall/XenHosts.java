package org.xenj.hypervisor.internal.hypercall;

import java.util.Map;
import java.util.WeakHashMap;

/**
 * One {@link XenHost} per machine memory: the PV builder, the HVM platform's Xen support and the
 * toolstack side all reach the same event channels, grant tables and xenstore through it.
 */
public final class XenHosts {

    private static final Map<org.xenj.hypervisor.internal.mem.MachineMemory, XenHost> HOSTS = new WeakHashMap<>();

    private XenHosts() {
    }

    public static synchronized XenHost forMachine(org.xenj.hypervisor.internal.mem.MachineMemory machine) {
        return HOSTS.computeIfAbsent(machine, XenHost::new);
    }
}
