package org.xenj.hypervisor.internal.backend;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendHotplug;

/**
 * Attaches {@link Backend} services to the domains that ask for their kind, one backend per kind
 * and domain (the newest registered), each session on its own executor. A backend that leaves
 * is detached everywhere and the next one of its kind, if any, takes its domains over; a backend
 * that throws is detached from that domain only and not attached to it again. Owned by the core,
 * like the {@link XenHost} it works on.
 */
public final class BackendHost implements BackendHotplug {

    /** How long a hot-plug waits for the backend's attach on its executor. */
    static final long SERVE_MILLIS = 10_000;

    private final XenHost host;
    private final Consumer<String> dmesg;
    /** kind -> backends of that kind, oldest first. */
    private final Map<String, List<Backend>> byKind = new HashMap<>();
    private final Map<Integer, Served> domains = new LinkedHashMap<>();

    /** A domain with Xen state and the kinds its configuration asks for. */
    private static final class Served {
        final DomainConfig config;
        final Set<String> kinds;
        final Map<String, BackendSession> sessions = new HashMap<>();
        final Set<Backend> failed = new HashSet<>();
        /** kind -> the state a leaving backend handed over, until a backend of the kind takes it. */
        final Map<String, HandOver> handOvers = new HashMap<>();
        /** Released for a migration: no backend attaches until {@link #reattachAfterMigration}. */
        boolean released;

        Served(DomainConfig config, Set<String> kinds) {
            this.config = config;
            this.kinds = kinds;
        }
    }

    /**
     * A leaving backend's devices waiting for the next backend of the kind: its state record, when
     * it stopped serving (the rings are not advanced from then on) and who it was.
     */
    private record HandOver(byte[] state, long pausedAtNanos, String from) {
    }

    public BackendHost(XenHost host, Consumer<String> dmesg) {
        this.host = host;
        this.dmesg = dmesg;
    }

    /** A backend service appeared with its {@link Backend#KIND} property; it serves domains of that kind still without one. */
    public synchronized void addBackend(Backend backend, String kind) {
        if (!BackendKinds.validName(kind)) {
            dmesg.accept("backend " + backend.getClass().getName() + " has no usable " + Backend.KIND + " (" + kind + "): ignored");
            return;
        }
        List<Backend> list = byKind.computeIfAbsent(kind, k -> new ArrayList<>());
        if (list.contains(backend)) {
            return;
        }
        list.add(backend);
        dmesg.accept("backend " + kind + ": " + backend.getClass().getName() + " registered");
        domains.forEach((domid, s) -> {
            if (s.kinds.contains(kind) && !s.sessions.containsKey(kind)) {
                attach(domid, s, kind);
            }
        });
    }

    /**
     * A backend service left (its bundle stops, is updated or replaced): each of its instances is
     * quiesced and its state record kept, then it is detached; the next backend of the kind — now,
     * or whenever one registers — takes each domain over from that record, so the frontend sees no
     * reconnect. Its requests wait on the ring meanwhile. An instance without a record is just
     * detached, and the next backend starts afresh.
     */
    public void removeBackend(Backend backend) {
        List<BackendSession> leaving = new ArrayList<>();
        synchronized (this) {
            for (List<Backend> list : byKind.values()) {
                list.remove(backend);
            }
            for (Served s : domains.values()) {
                s.sessions.values().removeIf(x -> {
                    if (x.backend() == backend) {
                        leaving.add(x);
                        return true;
                    }
                    return false;
                });
                s.failed.remove(backend);
            }
        }
        for (BackendSession x : leaving) {
            long t0 = System.nanoTime();
            byte[] state = x.saveState();
            x.detach(state == null ? "backend leaving" : "backend leaving, state handed over");
            if (state != null) {
                synchronized (this) {
                    Served s = domains.get(x.frontendDomid());
                    if (s != null) {
                        s.handOvers.put(x.kind(), new HandOver(state, t0, backend.getClass().getName()));
                        dmesg.accept("backend " + x.kind() + " for d" + x.frontendDomid() + ": quiesced, state taken ("
                                + state.length + " bytes) in " + String.format("%.1f", (System.nanoTime() - t0) / 1e6)
                                + " ms; the frontend's requests wait for the next " + x.kind() + " backend");
                    }
                }
            }
        }
        synchronized (this) {
            domains.forEach((domid, s) -> {
                for (String kind : s.kinds) {
                    if (!s.sessions.containsKey(kind)) {
                        attach(domid, s, kind);
                    }
                }
            });
        }
    }

    /**
     * A domain was built: its requested backends attach (those not registered yet attach when they
     * appear). A domain with Xen ABI is remembered even when it asks for none, for {@link #serve}.
     */
    public synchronized void domainBuilt(int domid, DomainConfig config) {
        Set<String> kinds = BackendKinds.requested(config);
        if (host.domain(domid) == null) {
            if (!kinds.isEmpty()) {
                dmesg.accept("d" + domid + " has no Xen ABI (event channels, grants): backends " + kinds + " not attached");
            }
            return;
        }
        Served s = new Served(config, kinds);
        domains.put(domid, s);
        for (String kind : kinds) {
            if (!attach(domid, s, kind)) {
                dmesg.accept("d" + domid + ": no backend for '" + kind + "' yet; it attaches when one is registered");
            }
        }
    }

    @Override
    public void serve(int domid, String kind) {
        if (!BackendKinds.validName(kind)) {
            throw new IllegalArgumentException("'" + kind + "' is not a backend kind");
        }
        BackendSession x;
        synchronized (this) {
            Served s = domains.get(domid);
            if (s == null) {
                throw new IllegalArgumentException("d" + domid + " is not running or has no Xen ABI (event channels, grants, xenstore)");
            }
            s.kinds.add(kind);
            x = s.sessions.get(kind);
            if (x == null) {
                if (!attach(domid, s, kind)) {
                    throw new IllegalStateException("no backend for '" + kind + "' is registered (it serves d" + domid
                            + " when one is)");
                }
                x = s.sessions.get(kind);
                dmesg.accept("d" + domid + ": backend '" + kind + "' attached for a hot-plug (the configuration had none)");
            }
        }
        x.awaitStarted(SERVE_MILLIS);
    }

    /** A domain is being destroyed: its backends detach before its event channels and grants go. */
    public void domainGone(int domid) {
        List<BackendSession> leaving;
        synchronized (this) {
            Served s = domains.remove(domid);
            if (s == null) {
                return;
            }
            leaving = new ArrayList<>(s.sessions.values());
            s.sessions.clear();
        }
        for (BackendSession x : leaving) {
            x.detach("domain destroyed");
        }
    }

    /**
     * A PVHVM domain leaves by live migration (it is suspended: its frontends wait, nothing is in
     * flight): each backend quiesces, gives its state record and detaches, closing what it holds
     * (disk images: one writer per image, and the destination opens the same ones), and none
     * attaches again until {@link #reattachAfterMigration}. Returns kind → state record (empty
     * array: the backend kept none, it starts afresh if re-attached).
     */
    public Map<String, byte[]> releaseForMigration(int domid) {
        List<BackendSession> leaving;
        synchronized (this) {
            Served s = domains.get(domid);
            if (s == null) {
                return Map.of();
            }
            s.released = true;
            leaving = new ArrayList<>(s.sessions.values());
            s.sessions.clear();
        }
        // all at once: each may wait for its images to be written back and closed (the guest is paused meanwhile)
        Map<String, java.util.concurrent.CompletableFuture<byte[]>> running = new LinkedHashMap<>();
        for (BackendSession x : leaving) {
            running.put(x.kind(), java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                long t0 = System.nanoTime();
                byte[] state = x.saveState();
                x.detach("released for a live migration");
                dmesg.accept(String.format("backend %s for d%d: released for a live migration in %.1f ms (%s)", x.kind(), domid,
                        (System.nanoTime() - t0) / 1e6, state == null ? "no state record" : "state " + state.length + " bytes"));
                return state == null ? new byte[0] : state;
            }, runnable -> {
                Thread t = new Thread(runnable, "xenj-release-" + x.kind() + "-d" + domid);
                t.setDaemon(true);
                t.start();
            }));
        }
        Map<String, byte[]> states = new LinkedHashMap<>();
        running.forEach((kind, f) -> states.put(kind, f.join()));
        return states;
    }

    /**
     * The migration failed: the backends released by {@link #releaseForMigration} attach again,
     * each from its state record as in a hand-over (the frontend, whose suspend is cancelled, keeps
     * its rings and sees no reconnect).
     */
    public synchronized void reattachAfterMigration(int domid, Map<String, byte[]> states) {
        Served s = domains.get(domid);
        if (s == null) {
            return;
        }
        s.released = false;
        long t0 = System.nanoTime();
        states.forEach((kind, state) -> {
            if (state != null && state.length > 0) {
                s.handOvers.put(kind, new HandOver(state, t0, "the migration that failed"));
            }
        });
        for (String kind : s.kinds) {
            if (!s.sessions.containsKey(kind)) {
                attach(domid, s, kind);
            }
        }
    }

    /** Detaches everything (the hypervisor stops). */
    public void close() {
        List<Integer> ids;
        synchronized (this) {
            ids = new ArrayList<>(domains.keySet());
        }
        ids.forEach(this::domainGone);
    }

    private boolean attach(int domid, Served s, String kind) {
        if (s.released) {
            return false;
        }
        List<Backend> list = byKind.getOrDefault(kind, List.of());
        for (int i = list.size() - 1; i >= 0; i--) {
            Backend b = list.get(i);
            if (s.failed.contains(b)) {
                continue;
            }
            BackendSession[] self = new BackendSession[1];
            BackendSession x = new BackendSession(host, b, kind, domid, s.config, dmesg, () -> failed(domid, kind, self[0]));
            self[0] = x;
            s.sessions.put(kind, x);
            HandOver h = s.handOvers.get(kind);
            if (h == null) {
                x.start();
            } else {
                x.start(h.state(), () -> handedOver(domid, kind, h, b));
            }
            return true;
        }
        return false;
    }

    /** The new backend took the record (on its executor, before it serves): the hand-over is done. */
    private synchronized void handedOver(int domid, String kind, HandOver h, Backend to) {
        Served s = domains.get(domid);
        if (s != null) {
            s.handOvers.remove(kind, h);
        }
        dmesg.accept(String.format("backend %s for d%d: handed over from %s to %s, rings paused %.1f ms", kind, domid, h.from(),
                to.getClass().getName(), (System.nanoTime() - h.pausedAtNanos()) / 1e6));
    }

    /** Called on the failed session's executor: forget it, try another backend of the kind. */
    private synchronized void failed(int domid, String kind, BackendSession x) {
        Served s = domains.get(domid);
        if (s == null || s.sessions.get(kind) != x) {
            return;
        }
        s.sessions.remove(kind);
        s.failed.add(x.backend());
        attach(domid, s, kind);
    }

    /** The context of the backend serving {@code kind} for {@code domid}, or null (tests, diagnostics). */
    public synchronized BackendContext session(int domid, String kind) {
        Served s = domains.get(domid);
        return s == null ? null : s.sessions.get(kind);
    }

    /** The executor thread of that session, null if none or not started yet (tests). */
    public synchronized Thread sessionThread(int domid, String kind) {
        Served s = domains.get(domid);
        BackendSession x = s == null ? null : s.sessions.get(kind);
        return x == null ? null : x.thread();
    }
}
