package org.xenj.hypervisor.internal.testsupport;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;

/** Builds guests of one type whose vCPUs are {@link ProbeExecutor}s (kept for inspection). */
public final class ProbeGuestBuilder implements GuestBuilder {

    private final DomainType type;
    private final int blockEvery;
    private final long blockNanos;
    private final int capacity;
    public final List<ProbeExecutor> executors = new CopyOnWriteArrayList<>();

    public ProbeGuestBuilder(DomainType type, int blockEvery, long blockNanos, int capacity) {
        this.type = type;
        this.blockEvery = blockEvery;
        this.blockNanos = blockNanos;
        this.capacity = capacity;
    }

    @Override
    public boolean supports(DomainType t) {
        return t == type;
    }

    @Override
    public Guest build(GuestContext context) {
        ProbeExecutor[] ex = new ProbeExecutor[context.config().vcpus()];
        for (int i = 0; i < ex.length; i++) {
            ex[i] = new ProbeExecutor(context, i, blockEvery, blockNanos, capacity);
            executors.add(ex[i]);
        }
        return new Guest() {
            @Override
            public VCpuExecutor executor(int vcpu) {
                return ex[vcpu];
            }

            @Override
            public void destroy() {
            }
        };
    }
}
