package org.xenj.hypervisor.internal.sched;

import java.util.BitSet;
import java.util.function.Consumer;

/**
 * The pCPUs (host worker threads) and the pools they are divided into. A pCPU moving between
 * pools passes through a limbo pool with no scheduler, so that no policy ever sees a pCPU it
 * was not built for.
 */
public final class SchedulingCore {

    private final PCpu[] pcpus;
    private final PoolScheduler limbo;
    private final Consumer<String> log;
    private final BitSet usedIndexes = new BitSet();

    public SchedulingCore(int nrPcpus, Consumer<String> log) {
        if (nrPcpus < 1 || nrPcpus > 512) {
            throw new IllegalArgumentException("xenj.pcpus must be 1..512, was " + nrPcpus);
        }
        this.log = log;
        this.pcpus = new PCpu[nrPcpus];
        this.limbo = new PoolScheduler("(none)", pcpus, log);
        for (int i = 0; i < nrPcpus; i++) {
            pcpus[i] = new PCpu(i, limbo, log);
        }
        for (PCpu p : pcpus) {
            p.start();
        }
    }

    public int nrPcpus() {
        return pcpus.length;
    }

    public PCpu pcpu(int i) {
        return pcpus[i];
    }

    public PoolScheduler newPool(String name) {
        return new PoolScheduler(name, pcpus, log);
    }

    /** Takes pCPUs out of {@code from} into limbo (they finish their current slice first). */
    public void detachPcpus(PoolScheduler from, int[] ids) {
        from.lock();
        try {
            for (int id : ids) {
                if (pcpus[id].pool == from) {
                    pcpus[id].pool = limbo;
                }
            }
        } finally {
            from.unlock();
        }
        for (int id : ids) {
            pcpus[id].nudge();
        }
    }

    /** Puts pCPUs from limbo into {@code to}, whose instance was already built for them. */
    public void attachPcpus(PoolScheduler to, int[] ids) {
        limbo.lock();
        try {
            for (int id : ids) {
                if (pcpus[id].pool == limbo) {
                    pcpus[id].pool = to;
                }
            }
        } finally {
            limbo.unlock();
        }
        for (int id : ids) {
            pcpus[id].nudge();
        }
    }

    /** Gives the domain's vCPUs host-wide indexes and puts it (inactive) into {@code pool}. */
    public void register(SchedDomain d, PoolScheduler pool) {
        synchronized (usedIndexes) {
            for (VCpu v : d.vcpus) {
                int i = usedIndexes.nextClearBit(0);
                usedIndexes.set(i);
                v.index = i;
            }
        }
        pool.addDomain(d);
    }

    /** Removes a domain from scheduling; its vCPUs that are executing are asked to exit. */
    public void unregister(SchedDomain d) {
        d.pool.removeDomain(d);
    }

    /**
     * Waits until no vCPU of a removed/paused domain executes; then frees the vCPU indexes if the
     * domain was removed. Returns false on timeout.
     */
    public boolean awaitQuiescent(SchedDomain d, long timeoutMillis) throws InterruptedException {
        long end = System.nanoTime() + timeoutMillis * 1_000_000L;
        synchronized (d) {
            while (!d.quiescent()) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                d.wait(Math.max(1, left / 1_000_000L));
            }
        }
        return true;
    }

    /** Returns a removed, quiescent domain's vCPU indexes for reuse. */
    public void releaseIndexes(SchedDomain d) {
        synchronized (usedIndexes) {
            for (VCpu v : d.vcpus) {
                if (v.index >= 0) {
                    usedIndexes.clear(v.index);
                }
            }
        }
    }

    public void migrate(SchedDomain d, PoolScheduler to) {
        PoolScheduler.migrate(d, to);
    }

    /** Stops every pCPU thread. Domains must be gone or left to die with the threads. */
    public void shutdown() {
        for (PCpu p : pcpus) {
            p.stop();
        }
        for (PCpu p : pcpus) {
            try {
                p.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (p.isAlive()) {
                log.accept("pCPU " + p.id + " did not stop (a vCPU ignores requestExit)");
            }
        }
    }
}
