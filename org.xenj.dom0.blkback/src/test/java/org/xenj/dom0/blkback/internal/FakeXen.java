package org.xenj.dom0.blkback.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * The hypervisor side of the SPI, played by the test: xenstore as a sorted map with watches, the
 * frontend's grant table (pages it granted to Domain 0, read-only or writable, revocable), event
 * channels, and a real single-threaded executor like BackendSession's. Whatever escapes a task
 * on the executor is counted as an internal error — the backend must never let that happen.
 */
final class FakeXen implements BackendContext, BackendStore {

    static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    final int domid;
    final DomainConfig config;
    final ExecutorService executor;
    final Map<String, String> store = Collections.synchronizedMap(new TreeMap<>());
    final Map<String, List<String>> perms = new ConcurrentHashMap<>();
    final List<Object[]> watches = new CopyOnWriteArrayList<>();
    final Map<Integer, Grant> grants = new ConcurrentHashMap<>();
    final Map<Integer, Runnable> ports = new ConcurrentHashMap<>();
    final List<String> log = new CopyOnWriteArrayList<>();
    final List<Throwable> internalErrors = new CopyOnWriteArrayList<>();
    final AtomicInteger notifications = new AtomicInteger();
    final AtomicInteger mapped = new AtomicInteger();
    private final AtomicInteger nextPort = new AtomicInteger(10);
    volatile boolean quietLog;

    /** A page the frontend granted to Domain 0. */
    static final class Grant {
        final byte[] page = new byte[GrantMapping.PAGE_SIZE];
        final boolean readOnly;
        volatile boolean revoked;

        Grant(boolean readOnly) {
            this.readOnly = readOnly;
        }
    }

    FakeXen(int domid, DomainConfig config) {
        this.domid = domid;
        this.config = config;
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fake-backend-d" + domid);
            t.setDaemon(true);
            return t;
        });
    }

    void shutdown() throws InterruptedException {
        executor.shutdown();
        executor.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** Runs {@code r} on the executor and waits for it (and for everything queued before it). */
    void sync() throws Exception {
        executor.submit(() -> { }).get(10, TimeUnit.SECONDS);
    }

    Grant grant(int ref, boolean readOnly) {
        Grant g = new Grant(readOnly);
        grants.put(ref, g);
        return g;
    }

    private Grant granted(int ref, boolean write) {
        Grant g = grants.get(ref);
        if (g == null || g.revoked) {
            throw new BackendException("d" + domid + " did not grant ref " + ref + " to Domain 0");
        }
        if (write && g.readOnly) {
            throw new BackendException("grant " + ref + " is read-only");
        }
        return g;
    }

    /** The frontend writes a node (as the guest would); watches fire on the executor. */
    void guestWrites(String path, String value) {
        store.put(path, value);
        fire(path);
    }

    void guestRemoves(String path) {
        store.keySet().removeIf(k -> k.equals(path) || k.startsWith(path + "/"));
        fire(path);
    }

    private void fire(String path) {
        for (Object[] w : watches) {
            String wp = (String) w[0];
            if (path.equals(wp) || path.startsWith(wp + "/")) {
                @SuppressWarnings("unchecked")
                Consumer<String> cb = (Consumer<String>) w[1];
                execute(() -> cb.accept(path));
            }
        }
    }

    private void execute(Runnable r) {
        try {
            executor.execute(() -> {
                try {
                    r.run();
                } catch (Throwable t) {
                    internalErrors.add(t);
                }
            });
        } catch (RuntimeException e) {
            // shut down
        }
    }

    /** The frontend signals the port it bound to Domain 0's {@code local}. */
    void signal(int local) {
        Runnable r = ports.get(local);
        if (r != null) {
            execute(r);
        }
    }

    // ------------------------------------------------------------------ BackendContext

    @Override public String kind() { return "vbd"; }
    @Override public int frontendDomid() { return domid; }
    @Override public DomainConfig config() { return config; }
    @Override public String frontendPath() { return "/local/domain/" + domid; }
    @Override public String backendPath() { return "/local/domain/0/backend/vbd/" + domid; }
    @Override public java.util.concurrent.Executor executor() { return this::execute; }
    @Override public BackendStore store() { return this; }

    @Override
    public void log(String message) {
        if (!quietLog) {
            System.out.println("[dmesg] vbd d" + domid + ": " + message);
        }
        log.add(message);
    }

    @Override
    public EventChannel bindInterdomain(int remotePort, Runnable onEvent) {
        if (remotePort <= 0 || remotePort > 1000) {
            throw new BackendException("cannot bind port " + remotePort + " of d" + domid);
        }
        int local = nextPort.getAndIncrement();
        ports.put(local, onEvent);
        return new EventChannel() {
            @Override public int localPort() { return local; }
            @Override public int remotePort() { return remotePort; }
            @Override public void notifyRemote() { notifications.incrementAndGet(); }
            @Override public void close() { ports.remove(local); }
        };
    }

    @Override
    public EventChannel allocateUnbound(Runnable onEvent) {
        throw new UnsupportedOperationException();
    }

    @Override
    public GrantMapping mapGrant(int ref, boolean writable) {
        Grant g = granted(ref, writable);
        mapped.incrementAndGet();
        return new GrantMapping() {
            volatile boolean live = true;

            private void check(int off, int len, boolean write) {
                if (!live || g.revoked) {
                    throw new BackendException("grant " + ref + " is no longer mapped");
                }
                if (write && !writable) {
                    throw new BackendException("grant " + ref + " mapped read-only");
                }
                if (off < 0 || len < 0 || off + len > PAGE_SIZE) {
                    throw new BackendException("offset " + off + "+" + len + " outside the page");
                }
            }

            @Override public int ref() { return ref; }
            @Override public boolean writable() { return writable; }
            @Override public boolean live() { return live && !g.revoked; }
            @Override public int read8(int o) { check(o, 1, false); return g.page[o] & 0xff; }
            @Override public int read16(int o) { check(o, 2, false); return (g.page[o] & 0xff) | (g.page[o + 1] & 0xff) << 8; }
            @Override public int read32(int o) { check(o, 4, false); return (int) INT.getVolatile(g.page, o); }
            @Override public void write8(int o, int v) { check(o, 1, true); g.page[o] = (byte) v; }
            @Override public void write16(int o, int v) { check(o, 2, true); g.page[o] = (byte) v; g.page[o + 1] = (byte) (v >> 8); }
            @Override public void write32(int o, int v) { check(o, 4, true); INT.setVolatile(g.page, o, v); }
            @Override public void read(int o, byte[] d, int off, int len) { check(o, len, false); System.arraycopy(g.page, o, d, off, len); }
            @Override public void write(int o, byte[] s, int off, int len) { check(o, len, true); System.arraycopy(s, off, g.page, o, len); }
            @Override public void unmap() {
                if (live) {
                    live = false;
                    mapped.decrementAndGet();
                }
            }
        };
    }

    @Override
    public void copyFromGrant(int ref, int offset, byte[] dst, int dstOff, int len) {
        Grant g = granted(ref, false);
        if (offset < 0 || len < 0 || offset + len > GrantMapping.PAGE_SIZE) {
            throw new BackendException("copy outside the page");
        }
        System.arraycopy(g.page, offset, dst, dstOff, len);
    }

    @Override
    public void copyToGrant(int ref, int offset, byte[] src, int srcOff, int len) {
        Grant g = granted(ref, true);
        if (offset < 0 || len < 0 || offset + len > GrantMapping.PAGE_SIZE) {
            throw new BackendException("copy outside the page");
        }
        System.arraycopy(src, srcOff, g.page, offset, len);
    }

    // ------------------------------------------------------------------ BackendStore (Domain 0's view)

    @Override public String read(String path) { return store.get(path); }

    @Override
    public void write(String path, String value) {
        store.put(path, value);
        fire(path);
    }

    @Override public void mkdir(String path) { store.putIfAbsent(path, ""); }

    @Override
    public void remove(String path) {
        guestRemoves(path);
    }

    @Override
    public List<String> directory(String path) {
        List<String> out = new ArrayList<>();
        synchronized (store) {
            for (String k : store.keySet()) {
                if (k.startsWith(path + "/") && k.indexOf('/', path.length() + 1) < 0) {
                    out.add(k.substring(path.length() + 1));
                }
            }
        }
        return out;
    }

    @Override
    public boolean exists(String path) {
        synchronized (store) {
            return store.containsKey(path) || store.keySet().stream().anyMatch(k -> k.startsWith(path + "/"));
        }
    }

    @Override
    public void setPermissions(String path, List<String> permissions) {
        perms.put(path, List.copyOf(permissions));
    }

    @Override
    public Watch watch(String path, Consumer<String> onChange) {
        Object[] w = {path, onChange};
        watches.add(w);
        execute(() -> onChange.accept(path));
        return () -> watches.remove(w);
    }
}
