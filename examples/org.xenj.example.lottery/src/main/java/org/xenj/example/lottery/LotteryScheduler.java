package org.xenj.example.lottery;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;

/**
 * Lottery scheduling (Waldspurger and Weihl, 1994) for one pool: each vCPU holds as many tickets
 * as its domain's weight; whenever a pCPU needs work, one ticket among the waiting vCPUs that may
 * run there is drawn and its holder runs for one slice. Over time each vCPU gets CPU in
 * proportion to its tickets. Called under the pool's scheduling lock, like every scheduler.
 */
final class LotteryScheduler implements SchedulerInstance {

    static final String SLICE_MS = "slice_ms";
    static final String WEIGHT = "weight";
    static final int DEFAULT_SLICE_MS = 10;

    private final SchedulerContext context;
    private final SplittableRandom random;
    private final Map<Integer, Integer> ticketsByDomain = new HashMap<>();
    private LotteryVCpu[] byIndex = new LotteryVCpu[16];
    /** Runnable, not running: the vCPUs in the draw, densely packed. */
    private LotteryVCpu[] waiting = new LotteryVCpu[16];
    private int waitingCount;
    /** What each pCPU was last given, or null. */
    private LotteryVCpu[] current = new LotteryVCpu[0];
    private int sliceMs = DEFAULT_SLICE_MS;

    LotteryScheduler(SchedulerContext context, long seed) {
        this.context = context;
        this.random = new SplittableRandom(seed);
    }

    @Override
    public void insert(SchedVCpu vcpu, boolean runnable) {
        if (lookup(vcpu) == null) {
            int index = vcpu.index();
            if (index >= byIndex.length) {
                byIndex = Arrays.copyOf(byIndex, Math.max(index + 1, byIndex.length * 2));
            }
            byIndex[index] = new LotteryVCpu(vcpu);
            ticketsByDomain.putIfAbsent(vcpu.domid(), Math.max(1, Math.min(65535, vcpu.weight())));
        }
        if (runnable) {
            wake(vcpu, context.nowNanos());
        } else {
            sleep(vcpu, context.nowNanos());
        }
    }

    @Override
    public void remove(SchedVCpu vcpu) {
        LotteryVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        leaveDraw(v);
        if (v.runningOn >= 0) {
            current[v.runningOn] = null;
            context.kick(v.runningOn);
        }
        byIndex[vcpu.index()] = null;
    }

    @Override
    public void wake(SchedVCpu vcpu, long nowNanos) {
        LotteryVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        v.runnable = true;
        if (v.runningOn < 0 && v.slot < 0) {
            enterDraw(v);
            kickIdlePcpuFor(v);
        }
    }

    @Override
    public void sleep(SchedVCpu vcpu, long nowNanos) {
        LotteryVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        v.runnable = false;
        leaveDraw(v);
        if (v.runningOn >= 0) {
            context.kick(v.runningOn);
        }
    }

    @Override
    public ScheduleDecision schedule(int pcpu, long nowNanos, SchedVCpu prev, boolean prevRunnable, long prevRanNanos) {
        if (pcpu >= current.length) {
            current = Arrays.copyOf(current, pcpu + 1);
        }
        LotteryVCpu was = current[pcpu];
        current[pcpu] = null;
        LotteryVCpu p = prev == null ? null : lookup(prev);
        if (was != null && was != p && was.runningOn == pcpu) {
            // Not what the core reports as having run here: it is off the pCPU, keep it in the draw.
            was.runningOn = -1;
            if (was.runnable) {
                enterDraw(was);
            }
        }
        if (p != null) {
            p.runningOn = -1;
            p.runnable = prevRunnable;
            if (prevRunnable) {
                enterDraw(p);
            } else {
                leaveDraw(p);
            }
        }
        LotteryVCpu winner = draw(pcpu);
        if (winner == null) {
            return ScheduleDecision.idle();
        }
        leaveDraw(winner);
        winner.runningOn = pcpu;
        current[pcpu] = winner;
        if (waitingCount > 0) {
            kickIdlePcpuFor(waiting[0]);
        }
        return ScheduleDecision.run(winner.vcpu, sliceMs * 1_000_000L);
    }

    /** Draws one ticket among the waiting vCPUs allowed on {@code pcpu}. */
    private LotteryVCpu draw(int pcpu) {
        long total = 0;
        for (int i = 0; i < waitingCount; i++) {
            if (waiting[i].vcpu.canRunOn(pcpu)) {
                total += tickets(waiting[i]);
            }
        }
        if (total == 0) {
            return null;
        }
        long ticket = random.nextLong(total);
        for (int i = 0; i < waitingCount; i++) {
            LotteryVCpu v = waiting[i];
            if (v.vcpu.canRunOn(pcpu)) {
                ticket -= tickets(v);
                if (ticket < 0) {
                    return v;
                }
            }
        }
        throw new IllegalStateException("lottery: ticket count changed during the draw");
    }

    private int tickets(LotteryVCpu v) {
        return ticketsByDomain.getOrDefault(v.vcpu.domid(), 1);
    }

    private void enterDraw(LotteryVCpu v) {
        if (v.slot >= 0) {
            return;
        }
        if (waitingCount == waiting.length) {
            waiting = Arrays.copyOf(waiting, waiting.length * 2);
        }
        v.slot = waitingCount;
        waiting[waitingCount++] = v;
    }

    private void leaveDraw(LotteryVCpu v) {
        if (v.slot < 0) {
            return;
        }
        LotteryVCpu last = waiting[--waitingCount];
        waiting[v.slot] = last;
        last.slot = v.slot;
        waiting[waitingCount] = null;
        v.slot = -1;
    }

    private void kickIdlePcpuFor(LotteryVCpu v) {
        for (int pcpu : context.pcpus()) {
            if ((pcpu >= current.length || current[pcpu] == null) && v.vcpu.canRunOn(pcpu)) {
                context.kick(pcpu);
                return;
            }
        }
    }

    @Override
    public void setDomainParams(int domid, Map<String, String> params) {
        if (params.containsKey(WEIGHT)) {
            ticketsByDomain.put(domid, parse(WEIGHT, params.get(WEIGHT), 1, 65535));
        }
    }

    @Override
    public Map<String, String> domainParams(int domid) {
        Integer tickets = ticketsByDomain.get(domid);
        return tickets == null ? Map.of() : Map.of(WEIGHT, tickets.toString());
    }

    @Override
    public void setPoolParams(Map<String, String> params) {
        if (params.containsKey(SLICE_MS)) {
            sliceMs = parse(SLICE_MS, params.get(SLICE_MS), 1, 1000);
        }
    }

    @Override
    public Map<String, String> poolParams() {
        return Map.of(SLICE_MS, Integer.toString(sliceMs));
    }

    private static int parse(String key, String value, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(value == null ? "" : value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("lottery: " + key + " must be an integer, got '" + value + "'");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException("lottery: " + key + " must be in " + min + ".." + max + ", got " + n);
        }
        return n;
    }

    private LotteryVCpu lookup(SchedVCpu vcpu) {
        int index = vcpu.index();
        if (index < 0 || index >= byIndex.length) {
            return null;
        }
        LotteryVCpu v = byIndex[index];
        return v != null && v.vcpu == vcpu ? v : null;
    }
}
