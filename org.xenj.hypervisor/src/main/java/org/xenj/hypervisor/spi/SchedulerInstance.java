package org.xenj.hypervisor.spi;

import java.util.Map;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * One pool's scheduler state. Holds typed per-vCPU state of its own, keyed by
 * {@link SchedVCpu#index()}. All methods are called with the pool's scheduling lock held, from
 * pCPU threads or the control thread, so an instance needs no locking of its own; none may block.
 *
 * <p>What the core guarantees (and checks in return):
 * <ul>
 * <li>A vCPU returned by {@link #schedule} is <em>running</em> until it comes back as
 * {@code prev} on that pCPU's next call, or is {@link #remove}d. {@code prev} is passed only to
 * the instance that dispatched it; when {@code prevRunnable}, queue it again (unless returning it
 * once more).</li>
 * <li>{@link #wake} is called only for a vCPU this instance holds as not runnable and not running;
 * {@link #sleep} only for one it holds as runnable (queued). A running vCPU that blocks or is
 * paused comes back as {@code prev} with {@code prevRunnable == false} instead.</li>
 * <li>On a hot-swap, vCPUs still running under the old instance are {@link #insert}ed as not
 * runnable and {@link #wake}d when their pCPU hands them back.</li>
 * <li>The core refuses an answer naming a vCPU that is running elsewhere, may not run on that
 * pCPU ({@link SchedVCpu#canRunOn}), is not runnable, or is not in the pool; such refusals are
 * logged as scheduler faults. An exception thrown here crashes the domain concerned.</li>
 * </ul>
 */
@ConsumerType
public interface SchedulerInstance {

    /**
     * Adopts a vCPU. {@code runnable} says whether it may run now (false = blocked or paused).
     * On a hot-swap every vCPU of the pool arrives here, before the first {@link #schedule}.
     */
    void insert(SchedVCpu vcpu, boolean runnable);

    /** Forgets a vCPU (domain destroyed, or moved to another pool). */
    void remove(SchedVCpu vcpu);

    /** The vCPU became runnable (event, interrupt, unpause). */
    void wake(SchedVCpu vcpu, long nowNanos);

    /** The vCPU may no longer run (blocked on HLT/SCHEDOP_block, or paused). */
    void sleep(SchedVCpu vcpu, long nowNanos);

    /**
     * Picks what {@code pcpu} runs next. {@code prev} is the vCPU that just ran there (or
     * {@code null} if the pCPU was idle), having consumed {@code prevRanNanos}; {@code prevRunnable}
     * says whether it could run on. Returns the decision; {@link ScheduleDecision#idle} if nothing
     * may run there.
     */
    ScheduleDecision schedule(int pcpu, long nowNanos, SchedVCpu prev, boolean prevRunnable, long prevRanNanos);

    /** Domain parameters changed (weight, cap, ...). Unknown keys are ignored. */
    default void setDomainParams(int domid, Map<String, String> params) {
    }

    /** Current domain parameters as this scheduler sees them. */
    default Map<String, String> domainParams(int domid) {
        return Map.of();
    }

    /** Pool parameters changed; invalid values throw {@link IllegalArgumentException}. */
    default void setPoolParams(Map<String, String> params) {
    }

    default Map<String, String> poolParams() {
        return Map.of();
    }

    /** The instance is being dropped (pool destroyed or scheduler swapped). */
    default void dispose() {
    }
}
