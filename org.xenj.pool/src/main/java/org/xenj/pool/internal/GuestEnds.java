package org.xenj.pool.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainListener;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.pool.internal.record.DomainRecord;

/**
 * The hypervisor's news of local domains, turned into registry changes when a held pool domain
 * ends by itself (see {@link DomainRegistry#localEnded}). The listener runs on a hypervisor thread
 * and must not block, so it only notes why a domain stopped and queues the rest on the pool's
 * own executor, which also runs the fencing revalidation: the ZooKeeper writes are ordered with it.
 *
 * <p>What each end means, as a Xen/XAPI user would expect it: {@code destroyed} after a shutdown
 * for {@code poweroff} (the guest's own, or {@code xen:shutdown}) or a plain {@code xen:destroy}
 * → {@code stopped} (XAPI's Halted; HA does not restart a VM shut down cleanly); after a crash or
 * watchdog whose {@code on_crash} destroyed it → {@code crashed}; whose action restarts it
 * ({@code on_reboot=restart}, or {@code on_crash=restart}) → the same lease and generation follow
 * the new domid. A pause (the pool's own fencing, or {@code xen:pause}) is not an end: ignored.
 */
final class GuestEnds implements DomainListener {

    /** How long a restarting domain may take to appear again before its reboot counts as failed. */
    static final long REBOOT_WAIT_MS = 10_000;
    /** A write that failed for want of the engine is tried again this often, this many times (the link may be down). */
    static final long RETRY_MS = 1000;
    static final int RETRIES = 120;

    private final DomainRegistry registry;
    private final ScheduledExecutorService executor;
    private final Consumer<String> log;
    /** Rewrites this host's membership record: a released domain's memory is free for the next placement. */
    private final Runnable changed;
    /** Why a local domain stopped running, from its state change (the destroyed event carries only the id). */
    private final Map<Integer, ShutdownReason> reasons = new ConcurrentHashMap<>();
    /** The action its configuration names for that reason, taken at the same moment. */
    private final Map<Integer, ShutdownAction> actions = new ConcurrentHashMap<>();

    GuestEnds(DomainRegistry registry, ScheduledExecutorService executor, Consumer<String> log, Runnable changed) {
        this.registry = registry;
        this.executor = executor;
        this.log = log;
        this.changed = changed;
    }

    @Override
    public void stateChanged(Domain domain, DomainState previous) {
        // The event is delivered later than it happened (the real hypervisor queues it on its control
        // thread, after the on_* action has run): the state may already be dying. The reason stays set.
        ShutdownReason r = domain.shutdownReason();
        if (r == null) {
            if (domain.state() != DomainState.CRASHED) {
                return; // paused (the pool's own fencing, xen:pause), unpaused, dying: not why it ends
            }
            r = ShutdownReason.CRASH;
        }
        reasons.put(domain.id(), r);
        actions.put(domain.id(), action(domain, r));
    }

    @Override
    public void created(Domain domain) {
        String name = domain.name();
        int domid = domain.id();
        submit(() -> registry.localCreated(name, domid), 0);
    }

    @Override
    public void destroyed(int domid, String name) {
        ShutdownReason r = reasons.remove(domid);
        ShutdownAction a = actions.remove(domid);
        boolean restart = a == ShutdownAction.RESTART || a == ShutdownAction.COREDUMP_RESTART || a == ShutdownAction.SOFT_RESET;
        String state = r == ShutdownReason.CRASH || r == ShutdownReason.WATCHDOG ? DomainRecord.CRASHED : DomainRecord.STOPPED;
        String why = r == null ? "destroyed on this host, not by the pool"
                : "its guest " + switch (r) {
                    case POWEROFF -> "powered off";
                    case REBOOT -> "rebooted";
                    case CRASH -> "crashed";
                    case WATCHDOG -> "was stopped by its watchdog";
                    case SUSPEND -> "suspended";
                    case SOFT_RESET -> "asked a soft reset";
                } + (a == null ? "" : ", action " + a.xlName());
        ended(name, domid, state, why, restart, 0);
    }

    private void ended(String name, int domid, String state, String why, boolean restart, int attempt) {
        submit(() -> {
            try {
                boolean held = registry.heldView(name) != null;
                if (registry.localEnded(name, domid, state, why, restart)) {
                    submit(() -> {
                        registry.rebootOverdue(name, domid);
                        if (registry.heldView(name) == null) {
                            changed.run();
                        }
                    }, REBOOT_WAIT_MS);
                } else if (held && registry.heldView(name) == null) {
                    changed.run();
                }
            } catch (RuntimeException e) {
                if (attempt < RETRIES) {
                    ended(name, domid, state, why, restart, attempt + 1); // the engine is unreachable: again later
                } else {
                    log.accept("pool: the end of domain " + name + " (" + why + ") could not be recorded: " + e.getMessage());
                }
            }
        }, attempt == 0 ? 0 : RETRY_MS);
    }

    private void submit(Runnable r, long delayMs) {
        try {
            executor.schedule(r, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closed) {
            // the pool stopped here: it holds nothing any more
        }
    }

    private static ShutdownAction action(Domain d, ShutdownReason r) {
        if (d.config() == null) {
            return null;
        }
        return switch (r) {
            case POWEROFF -> d.config().onPoweroff();
            case REBOOT -> d.config().onReboot();
            case CRASH, WATCHDOG -> d.config().onCrash();
            case SUSPEND -> ShutdownAction.PRESERVE; // saved by xen:save, or left suspended: the record cannot tell
            case SOFT_RESET -> ShutdownAction.SOFT_RESET;
        };
    }
}
