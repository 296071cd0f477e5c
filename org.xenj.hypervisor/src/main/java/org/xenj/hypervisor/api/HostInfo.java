package org.xenj.hypervisor.api;

import java.util.List;

/** What {@code xl info} prints about the host. */
public record HostInfo(
        String hostname,
        String xenVersion,
        String xenCaps,
        int nrPcpus,
        long totalMemoryKiB,
        long freeMemoryKiB,
        String defaultScheduler,
        List<String> availableSchedulers,
        long uptimeNanos) {
}
