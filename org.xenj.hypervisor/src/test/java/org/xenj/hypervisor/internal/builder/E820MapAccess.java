package org.xenj.hypervisor.internal.builder;

import java.util.List;

import org.xenj.hypervisor.internal.mem.DomainMemory;

/** The e820 RAM ranges the builder would give a domain, for tests of other packages. */
public final class E820MapAccess {

    private E820MapAccess() {
    }

    /** {address, size} of each RAM range. */
    public static List<long[]> ram(DomainMemory memory) {
        return E820Map.forHvm(memory).entries().stream().filter(e -> e.type() == E820Map.RAM)
                .map(e -> new long[] {e.address(), e.size()}).toList();
    }
}
