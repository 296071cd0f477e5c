package org.xenj.hypervisor.internal.domain;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/** The hypervisor's start-up settings (configuration PID {@code org.xenj.hypervisor}). */
public record CoreConfig(long memoryBytes, int pcpus, long dom0MemoryBytes, String scheduler) {

    public static final String DEFAULT_MEMORY = "2048M";
    public static final String DEFAULT_DOM0_MEMORY = "256M";
    public static final String DEFAULT_SCHEDULER = "credit";

    /** Parses the textual settings; {@code pcpus <= 0} means one per host core. */
    public static CoreConfig parse(String memory, int pcpus, String dom0Memory, String scheduler) {
        long mem;
        long dom0;
        try {
            mem = MachineMemory.parseSize(memory == null ? DEFAULT_MEMORY : memory);
            dom0 = MachineMemory.parseSize(dom0Memory == null ? DEFAULT_DOM0_MEMORY : dom0Memory);
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("bad hypervisor configuration: " + e.getMessage(), e);
        }
        int n = pcpus > 0 ? pcpus : Runtime.getRuntime().availableProcessors();
        String s = scheduler == null || scheduler.isBlank() ? DEFAULT_SCHEDULER : scheduler.trim();
        return new CoreConfig(mem, n, dom0, s);
    }
}
