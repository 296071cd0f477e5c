package org.xenj.sched.rr.internal;

import java.util.Arrays;
import java.util.Map;
import java.util.function.IntSupplier;

import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;

/**
 * Round robin for one pool: one FIFO of runnable vCPUs shared by all pCPUs; each vCPU runs for one
 * slice and goes to the back. No weights, no priorities; a waking vCPU queues at the back and is
 * run at once only if a pCPU it may use is idle. Called under the pool's scheduling lock.
 */
final class RoundRobinScheduler implements SchedulerInstance {

    static final String SLICE_MS = "slice_ms";
    static final int DEFAULT_SLICE_MS = 30;
    static final int MIN_SLICE_MS = 1;
    static final int MAX_SLICE_MS = 1000;

    private final SchedulerContext context;
    private final IntSupplier defaultSliceMs;
    private final RrQueue queue = new RrQueue();
    private RrVCpu[] byIndex = new RrVCpu[16];
    private RrVCpu[] current = new RrVCpu[0];
    private int sliceMs;
    private boolean explicitSlice;

    RoundRobinScheduler(SchedulerContext context, IntSupplier defaultSliceMs) {
        this.context = context;
        this.defaultSliceMs = defaultSliceMs;
        this.sliceMs = defaultSliceMs.getAsInt();
    }

    static int validSlice(String value) {
        int ms;
        try {
            ms = Integer.parseInt(value == null ? "" : value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("rr: " + SLICE_MS + " must be an integer, got '" + value + "'");
        }
        return checkSlice(ms);
    }

    static int checkSlice(int ms) {
        if (ms < MIN_SLICE_MS || ms > MAX_SLICE_MS) {
            throw new IllegalArgumentException("rr: " + SLICE_MS + " must be in " + MIN_SLICE_MS + ".." + MAX_SLICE_MS
                    + ", got " + ms);
        }
        return ms;
    }

    @Override
    public void insert(SchedVCpu vcpu, boolean runnable) {
        RrVCpu v = lookup(vcpu);
        if (v == null) {
            v = new RrVCpu(vcpu);
            int index = vcpu.index();
            if (index >= byIndex.length) {
                byIndex = Arrays.copyOf(byIndex, Math.max(index + 1, byIndex.length * 2));
            }
            byIndex[index] = v;
        }
        if (runnable) {
            wake(vcpu, context.nowNanos());
        } else {
            sleep(vcpu, context.nowNanos());
        }
    }

    @Override
    public void remove(SchedVCpu vcpu) {
        RrVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        queue.remove(v);
        if (v.runningOn >= 0 && v.runningOn < current.length && current[v.runningOn] == v) {
            current[v.runningOn] = null;
            context.kick(v.runningOn);
        }
        byIndex[vcpu.index()] = null;
    }

    @Override
    public void wake(SchedVCpu vcpu, long nowNanos) {
        RrVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        v.runnable = true;
        if (v.runningOn >= 0 || v.queued) {
            return;
        }
        queue.append(v);
        kickIdlePcpuFor(v);
    }

    @Override
    public void sleep(SchedVCpu vcpu, long nowNanos) {
        RrVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        v.runnable = false;
        queue.remove(v);
        if (v.runningOn >= 0) {
            context.kick(v.runningOn);
        }
    }

    @Override
    public ScheduleDecision schedule(int pcpu, long nowNanos, SchedVCpu prev, boolean prevRunnable, long prevRanNanos) {
        ensurePcpu(pcpu);
        RrVCpu was = current[pcpu];
        current[pcpu] = null;
        RrVCpu p = prev == null ? null : lookup(prev);
        if (was != null && was.runningOn == pcpu) {
            was.runningOn = -1;
            if (was != p && was.runnable) {
                // The core reports something else than what we started here: keep ours in the queue.
                queue.append(was);
            }
        }
        if (p != null) {
            if (p.runningOn == pcpu) {
                p.runningOn = -1;
            }
            p.runnable = prevRunnable;
            if (prevRunnable) {
                queue.append(p);
            } else {
                queue.remove(p);
            }
        }
        RrVCpu next = queue.firstFor(pcpu);
        if (next == null) {
            return ScheduleDecision.idle();
        }
        queue.remove(next);
        next.runningOn = pcpu;
        current[pcpu] = next;
        RrVCpu waiting = queue.head();
        if (waiting != null) {
            kickIdlePcpuFor(waiting);
        }
        return next.decision(sliceMs * 1_000_000L);
    }

    private void kickIdlePcpuFor(RrVCpu v) {
        int last = v.vcpu.lastPcpu();
        int[] pcpus = context.pcpus();
        if (last >= 0 && contains(pcpus, last) && isIdle(last) && v.vcpu.canRunOn(last)) {
            context.kick(last);
            return;
        }
        for (int pcpu : pcpus) {
            if (isIdle(pcpu) && v.vcpu.canRunOn(pcpu)) {
                context.kick(pcpu);
                return;
            }
        }
    }

    private boolean isIdle(int pcpu) {
        return pcpu >= current.length || current[pcpu] == null;
    }

    @Override
    public Map<String, String> poolParams() {
        return Map.of(SLICE_MS, Integer.toString(sliceMs));
    }

    @Override
    public void setPoolParams(Map<String, String> params) {
        if (params.containsKey(SLICE_MS)) {
            sliceMs = validSlice(params.get(SLICE_MS));
            explicitSlice = true;
        }
    }

    private RrVCpu lookup(SchedVCpu vcpu) {
        int index = vcpu.index();
        if (index < 0 || index >= byIndex.length) {
            return null;
        }
        RrVCpu v = byIndex[index];
        return v != null && v.vcpu == vcpu ? v : null;
    }

    private void ensurePcpu(int pcpu) {
        if (pcpu >= current.length) {
            current = Arrays.copyOf(current, pcpu + 1);
        }
        if (!explicitSlice) {
            sliceMs = defaultSliceMs.getAsInt();
        }
    }

    private static boolean contains(int[] array, int value) {
        for (int v : array) {
            if (v == value) {
                return true;
            }
        }
        return false;
    }
}
