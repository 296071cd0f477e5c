package org.xenj.hypervisor.internal.platform;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.xenj.hypervisor.spi.DeviceTimer;

/**
 * Device models' one-shot timers, serviced with the platform's own (PIT, RTC, APIC). Few timers per
 * domain, so a copy-on-write list scanned at service time is enough; arming never allocates.
 */
final class DeviceTimers {

    private final CopyOnWriteArrayList<Timer> timers = new CopyOnWriteArrayList<>();
    private final Consumer<String> log;
    /** Told the new deadline when a timer is armed, so the host timer can be brought forward. */
    private final java.util.function.LongConsumer armed;

    DeviceTimers(Consumer<String> log, java.util.function.LongConsumer armed) {
        this.log = log;
        this.armed = armed;
    }

    DeviceTimer create(Runnable onExpiry) {
        Timer t = new Timer(onExpiry);
        timers.add(t);
        return t;
    }

    /** Fires due timers; returns the earliest pending deadline, or {@link Long#MAX_VALUE}. */
    long service(long now) {
        long next = Long.MAX_VALUE;
        for (Timer t : timers) {
            long d = t.deadline;
            if (d != Long.MAX_VALUE && d - now <= 0 && t.fire(d)) {
                try {
                    t.onExpiry.run();
                } catch (RuntimeException e) {
                    log.accept("device timer callback failed: " + e);
                }
                d = t.deadline;
            }
            if (d != Long.MAX_VALUE && d < next) {
                next = d;
            }
        }
        return next;
    }

    void cancelAll() {
        timers.forEach(Timer::cancel);
        timers.clear();
    }

    private final class Timer implements DeviceTimer {
        final Runnable onExpiry;
        volatile long deadline = Long.MAX_VALUE;

        Timer(Runnable onExpiry) {
            this.onExpiry = onExpiry;
        }

        /** Claims the expiry of {@code expected}; false if re-armed or cancelled meanwhile. */
        synchronized boolean fire(long expected) {
            if (deadline != expected) {
                return false;
            }
            deadline = Long.MAX_VALUE;
            return true;
        }

        @Override
        public void arm(long deadlineNanos) {
            synchronized (this) {
                deadline = deadlineNanos == Long.MAX_VALUE ? Long.MAX_VALUE - 1 : deadlineNanos;
            }
            armed.accept(deadlineNanos);
        }

        @Override
        public synchronized void cancel() {
            deadline = Long.MAX_VALUE;
        }
    }
}
