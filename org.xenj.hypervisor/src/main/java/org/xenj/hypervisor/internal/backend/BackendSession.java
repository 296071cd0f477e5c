package org.xenj.hypervisor.internal.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.xenabi.XenAbi;
import org.xenj.hypervisor.internal.xenstore.XenStore;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendInstance;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * One backend serving one domain: the {@link BackendContext} it was given, its own
 * single-threaded executor, and everything it holds (ports, grant mappings, watches) so that a
 * detach — the domain going, the backend leaving, or the backend throwing — releases all of it.
 * Every callback into backend code runs on the executor, wrapped so that an exception detaches
 * this session and nothing else.
 */
final class BackendSession implements BackendContext {

    /** How long a detach waits for the backend's own {@link BackendInstance#detach} to finish. */
    static final long DETACH_WAIT_MILLIS = 2000;

    private final XenHost host;
    private final Backend backend;
    private final String kind;
    private final int domid;
    private final DomainConfig config;
    private final Consumer<String> dmesg;
    private final Runnable onFailure;
    private final ThreadPoolExecutor executor;
    private final SessionStore store;
    private final Set<Object> held = ConcurrentHashMap.newKeySet();
    private volatile Thread thread;
    private volatile BackendInstance instance;
    private volatile boolean attached = true;
    /** Completed when {@link Backend#attach} has returned an instance; exceptionally when the session ended first. */
    private final java.util.concurrent.CompletableFuture<Void> started = new java.util.concurrent.CompletableFuture<>();

    BackendSession(XenHost host, Backend backend, String kind, int domid, DomainConfig config, Consumer<String> dmesg,
            Runnable onFailure) {
        this.host = host;
        this.backend = backend;
        this.kind = kind;
        this.domid = domid;
        this.config = config;
        this.dmesg = dmesg;
        this.onFailure = onFailure;
        this.store = new SessionStore(this, host.store);
        String name = "xenj-backend-" + kind + "-d" + domid;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            thread = t;
            return t;
        });
    }

    Backend backend() {
        return backend;
    }

    /** Calls {@link Backend#attach} on the executor. */
    void start() {
        start(null, null);
    }

    /**
     * Calls {@link Backend#attach} on the executor — with {@code state} the hand-over's
     * {@link Backend#attach(BackendContext, byte[])} — then {@code onAttached} there (if any).
     */
    void start(byte[] state, Runnable onAttached) {
        execute(() -> {
            BackendInstance i = state == null ? backend.attach(this) : backend.attach(this, state);
            if (i == null) {
                throw new BackendException("attach returned no instance");
            }
            instance = i;
            started.complete(null);
            if (onAttached != null) {
                onAttached.run();
            }
        });
    }

    /**
     * Waits until {@link Backend#attach} has run (hot-plug into a domain that had no backend of the kind).
     *
     * @throws IllegalStateException it failed, the session ended, or it took longer than {@code millis}
     */
    void awaitStarted(long millis) {
        try {
            started.get(millis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("backend " + kind + " did not attach to d" + domid + ": " + e.getCause().getMessage());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("backend " + kind + " did not attach to d" + domid + " within " + millis + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    /**
     * The hand-over's first step, on the calling thread (the executor keeps running for the
     * backend's in-flight work): the instance quiesces and gives its state record. Null when it
     * has none, was not attached yet, or failed (logged).
     */
    byte[] saveState() {
        BackendInstance i = instance;
        if (!attached || i == null || Thread.currentThread() == thread) {
            return null;
        }
        try {
            return i.saveState();
        } catch (Throwable t) {
            log("could not save its state for a hand-over: " + t);
            return null;
        }
    }

    /** Code that may throw: a backend callback or task. */
    interface Task {
        void run() throws Exception;
    }

    /** Runs backend code on the executor; an exception detaches this session. Dropped once detached. */
    void execute(Task task) {
        if (!attached) {
            return;
        }
        try {
            executor.execute(() -> {
                if (!attached) {
                    return;
                }
                try {
                    task.run();
                } catch (Throwable t) {
                    fail(t);
                }
            });
        } catch (RejectedExecutionException e) {
            // shut down by a detach meanwhile
        }
    }

    private void fail(Throwable t) {
        if (!attached) {
            return;
        }
        started.completeExceptionally(t);
        log("failed: " + t + "; detached from d" + domid + " (other domains are not affected)");
        release(true);
        onFailure.run();
    }

    /**
     * Detaches: the backend's {@link BackendInstance#detach} runs on its executor (bounded wait),
     * then everything the session holds is released and the executor stops.
     */
    void detach(String why) {
        if (!attached) {
            return;
        }
        CountDownLatch done = new CountDownLatch(1);
        try {
            executor.execute(() -> {
                try {
                    release(true);
                } finally {
                    done.countDown();
                }
            });
            if (Thread.currentThread() != thread && !done.await(DETACH_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                log("did not detach within " + DETACH_WAIT_MILLIS + " ms (" + why + "); its resources are released anyway");
            }
        } catch (RejectedExecutionException e) {
            // already shut down
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        release(false);
        log("detached from d" + domid + " (" + why + ")");
    }

    /** Marks the session detached, lets the backend clean up ({@code callDetach}, on its thread) and frees what it holds. */
    private void release(boolean callDetach) {
        BackendInstance i;
        started.completeExceptionally(new BackendException("detached"));
        synchronized (this) {
            attached = false;
            i = instance;
            instance = null;
        }
        if (callDetach && i != null) {
            try {
                i.detach();
            } catch (Throwable t) {
                log("detach failed: " + t);
            }
        }
        store.dropAll();
        for (Object o : new ArrayList<>(held)) {
            if (o instanceof EventChannel c) {
                c.close();
            } else if (o instanceof GrantMapping m) {
                m.unmap();
            }
        }
        held.clear();
        executor.shutdown();
    }

    void forget(Object resource) {
        held.remove(resource);
    }

    void checkAttached() {
        if (!attached) {
            throw new BackendException("backend " + kind + " is detached from d" + domid);
        }
    }

    boolean attached() {
        return attached;
    }

    // ------------------------------------------------------------------ BackendContext

    @Override
    public String kind() {
        return kind;
    }

    @Override
    public int frontendDomid() {
        return domid;
    }

    @Override
    public DomainConfig config() {
        return config;
    }

    @Override
    public String frontendPath() {
        return XenStore.domainPath(domid);
    }

    @Override
    public String backendPath() {
        return XenStore.domainPath(0) + "/backend/" + kind + "/" + domid;
    }

    @Override
    public Executor executor() {
        return command -> execute(command::run);
    }

    @Override
    public BackendStore store() {
        return store;
    }

    @Override
    public EventChannel bindInterdomain(int remotePort, Runnable onEvent) {
        checkAttached();
        int local = host.dom0Evtchn.bindInterdomain(domid, remotePort);
        if (local < 0) {
            throw new BackendException("cannot bind port " + remotePort + " of d" + domid + " (" + "errno " + -local + ")");
        }
        return track(new SessionEventChannel(this, host, local, onEvent));
    }

    @Override
    public EventChannel allocateUnbound(Runnable onEvent) {
        checkAttached();
        int local = host.dom0Evtchn.allocUnbound(domid);
        if (local < 0) {
            throw new BackendException("no port for d" + domid + " (" + "errno " + -local + ")");
        }
        return track(new SessionEventChannel(this, host, local, onEvent));
    }

    private EventChannel track(SessionEventChannel c) {
        held.add(c);
        if (!attached) { // detached meanwhile: give nothing out
            c.close();
            checkAttached();
        }
        c.listen();
        return c;
    }

    @Override
    public GrantMapping mapGrant(int ref, boolean writable) {
        checkAttached();
        int flags = XenAbi.GNTMAP_HOST_MAP | (writable ? 0 : XenAbi.GNTMAP_READONLY);
        int handle = host.dom0Grants.map(domid, ref, flags, 0, null);
        if (handle < 0) {
            throw new BackendException("cannot map grant " + ref + " of d" + domid + " " + (writable ? "writable" : "read-only")
                    + " (" + gntst(handle) + ")");
        }
        SessionGrantMapping m = new SessionGrantMapping(this, host.dom0Grants, host.machine, ref, handle, writable);
        held.add(m);
        if (!attached) {
            m.unmap();
            checkAttached();
        }
        return m;
    }

    @Override
    public GrantMapping mapGuestFrame(long gfn, boolean writable) {
        checkAttached();
        org.xenj.hypervisor.internal.hypercall.XenDomain d = host.domain(domid);
        if (d == null || d.ownedMfn(gfn) < 0) {
            throw new BackendException("frame " + gfn + " is not d" + domid + "'s RAM");
        }
        GuestFrameMapping m = new GuestFrameMapping(this, d, gfn, writable);
        held.add(m);
        if (!attached) {
            m.unmap();
            checkAttached();
        }
        return m;
    }

    @Override
    public void copyFromGrant(int ref, int offset, byte[] dst, int dstOff, int len) {
        copy(ref, offset, dst, dstOff, len, false);
    }

    @Override
    public void copyToGrant(int ref, int offset, byte[] src, int srcOff, int len) {
        copy(ref, offset, src, srcOff, len, true);
    }

    private void copy(int ref, int offset, byte[] buf, int off, int len, boolean toGrant) {
        checkAttached();
        int rc = host.dom0Grants.copyWithBuffer(domid, ref, offset, buf, off, len, toGrant);
        if (rc != XenAbi.GNTST_OKAY) {
            throw new BackendException("grant copy " + (toGrant ? "to" : "from") + " grant " + ref + " of d" + domid + " refused ("
                    + gntst(rc) + ")");
        }
    }

    @Override
    public void log(String message) {
        dmesg.accept("backend " + kind + " (" + backend.getClass().getName() + ") for d" + domid + ": " + message);
    }

    private static String gntst(int rc) {
        return switch (rc) {
            case XenAbi.GNTST_BAD_DOMAIN -> "GNTST_bad_domain";
            case XenAbi.GNTST_BAD_GNTREF -> "GNTST_bad_gntref";
            case XenAbi.GNTST_PERMISSION_DENIED -> "GNTST_permission_denied";
            case XenAbi.GNTST_BAD_PAGE -> "GNTST_bad_page";
            case XenAbi.GNTST_BAD_COPY_ARG -> "GNTST_bad_copy_arg";
            default -> "GNTST " + rc;
        };
    }

    /** The executor's thread, for tests; null before it first ran. */
    Thread thread() {
        return thread;
    }

    List<Object> heldForTests() {
        return new ArrayList<>(held);
    }
}
