package org.xenj.hypervisor.internal.domain;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.DomainListener;

/**
 * The hypervisor's control thread ({@code xenj-control}) and the domain listeners it calls. pCPU
 * threads and management calls never run listeners or follow-up work themselves: they hand it
 * here, so a slow listener or a destroy started from a vCPU's shutdown cannot block a pCPU or run
 * under the core's monitor. A task's failure is logged, never thrown at whoever queued it.
 */
final class DomainEvents {

    private final CopyOnWriteArrayList<DomainListener> listeners = new CopyOnWriteArrayList<>();
    private final ExecutorService control = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "xenj-control");
        t.setDaemon(true);
        return t;
    });
    private final Consumer<String> log;
    private volatile boolean closed;

    DomainEvents(Consumer<String> log) {
        this.log = log;
    }

    void add(DomainListener listener) {
        if (listener != null) {
            listeners.addIfAbsent(listener);
        }
    }

    void remove(DomainListener listener) {
        listeners.remove(listener);
    }

    /** Tells every listener, on the control thread (nothing once closed). */
    void fire(Consumer<DomainListener> event) {
        if (listeners.isEmpty() || closed) {
            return;
        }
        run(() -> {
            for (DomainListener l : listeners) {
                try {
                    event.accept(l);
                } catch (RuntimeException e) {
                    log.accept("domain listener " + l.getClass().getName() + " failed: " + e);
                }
            }
        });
    }

    /** Runs {@code task} on the control thread (dropped once closed: the domains go with the hypervisor). */
    void run(Runnable task) {
        if (closed) {
            return;
        }
        try {
            control.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    log.accept("control task failed: " + e);
                }
            });
        } catch (RejectedExecutionException e) {
            // stopping: the hypervisor is going away with its domains
        }
    }

    /** No more events or tasks from now on (queued ones still run). */
    void stop() {
        closed = true;
    }

    /** {@link #stop}s, then lets queued tasks finish for up to 2 s. */
    void close() {
        closed = true;
        control.shutdown();
        try {
            control.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
