package org.xenj.dom0.netback.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * A frontend domain as netback sees it through the backend SPI, for tests: its memory is a set
 * of granted pages, xenstore a map with watches, its event channel a semaphore. It plays the
 * hypervisor's part faithfully where netback could go wrong — grant refs and rights are checked,
 * copies past a page refused — and counts every exception that escapes netback's callbacks on
 * the executor ({@link #internalErrors}): in the real hypervisor such an exception detaches the
 * backend from the domain.
 */
final class FakeDomain implements BackendContext {


    /** Xenstore shared by every fake domain of a test (Dom0's view). */
    static final class Store {
        final TreeMap<String, String> nodes = new TreeMap<>();
        final Map<String, List<String>> perms = new HashMap<>();
        final List<Object[]> watches = new CopyOnWriteArrayList<>();

        synchronized String read(String p) {
            return nodes.get(p);
        }

        void write(String p, String v) {
            synchronized (this) {
                for (String q = p; q.lastIndexOf('/') > 0; q = q.substring(0, q.lastIndexOf('/'))) {
                    nodes.putIfAbsent(q, "");
                }
                nodes.put(p, v);
            }
            fire(p);
        }

        void remove(String p) {
            synchronized (this) {
                nodes.keySet().removeIf(k -> k.equals(p) || k.startsWith(p + "/"));
            }
            fire(p);
        }

        synchronized List<String> directory(String p) {
            List<String> out = new ArrayList<>();
            for (String k : nodes.tailMap(p + "/").keySet()) {
                if (!k.startsWith(p + "/")) {
                    break;
                }
                String rest = k.substring(p.length() + 1);
                if (!rest.contains("/")) {
                    out.add(rest);
                }
            }
            return out;
        }

        @SuppressWarnings("unchecked")
        void fire(String changed) {
            for (Object[] w : watches) {
                String path = (String) w[0];
                if (changed.equals(path) || changed.startsWith(path + "/") || path.startsWith(changed + "/")) {
                    ((Consumer<String>) w[1]).accept(changed);
                }
            }
        }
    }

    /** A granted page of this domain. */
    static final class Page {
        final byte[] bytes = new byte[GrantMapping.PAGE_SIZE];
        volatile boolean writable = true;

        synchronized int read32(int off) {
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(off);
        }

        synchronized void write32(int off, int v) {
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(off, v);
        }

        synchronized void write(int off, byte[] src, int srcOff, int len) {
            System.arraycopy(src, srcOff, bytes, off, len);
        }

        synchronized void read(int off, byte[] dst, int dstOff, int len) {
            System.arraycopy(bytes, off, dst, dstOff, len);
        }
    }

    final int domid;
    final DomainConfig config;
    final Store store;
    final ExecutorService executorService;
    final AtomicInteger internalErrors = new AtomicInteger();
    final List<Throwable> errors = new CopyOnWriteArrayList<>();
    final List<String> log = new CopyOnWriteArrayList<>();
    final Map<Integer, Page> grants = new ConcurrentHashMap<>();
    final Semaphore notified = new Semaphore(0);
    final AtomicInteger notifications = new AtomicInteger();
    volatile Thread executorThread;
    private final AtomicInteger nextRef = new AtomicInteger(8);
    private volatile Runnable backendHandler;
    private final int frontendPort = 7;

    FakeDomain(int domid, Store store, String... vifs) {
        this.domid = domid;
        this.store = store;
        this.config = DomainConfig.builder("guest" + domid).type(DomainType.HVM).vifs(List.of(vifs)).build();
        this.executorService = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "backend-vif-d" + domid);
            executorThread = t;
            return t;
        });
    }

    /** Waits until netback wrote the frontend state of every configured vif (the device exists for the guest). */
    static void awaitDevices(FakeDomain d) throws InterruptedException {
        long end = System.currentTimeMillis() + 5000;
        for (int devid = 0; devid < d.config.vifs().size(); devid++) {
            while (d.store.read(d.frontendPath() + "/device/vif/" + devid + "/state") == null && System.currentTimeMillis() < end) {
                Thread.sleep(2);
            }
        }
        Thread.sleep(20); // and its watch is registered
    }

    /** Grants a fresh page (filled with {@code fill}) to Dom0; returns its ref. */
    int grant(byte fill) {
        Page p = new Page();
        java.util.Arrays.fill(p.bytes, fill);
        int ref = nextRef.getAndIncrement();
        grants.put(ref, p);
        return ref;
    }

    Page page(int ref) {
        return grants.get(ref);
    }

    /** The frontend signals its event channel: the backend's handler runs on the executor. */
    void kick() {
        Runnable h = backendHandler;
        if (h != null) {
            executor().execute(h);
        }
    }

    void shutdown() {
        executorService.shutdownNow();
    }

    // ------------------------------------------------------------------ BackendContext

    @Override
    public String kind() {
        return "vif";
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
        return "/local/domain/" + domid;
    }

    @Override
    public String backendPath() {
        return "/local/domain/0/backend/vif/" + domid;
    }

    @Override
    public Executor executor() {
        return task -> executorService.execute(() -> {
            try {
                task.run();
            } catch (Throwable t) {
                internalErrors.incrementAndGet();
                errors.add(t);
            }
        });
    }

    @Override
    public BackendStore store() {
        FakeDomain self = this;
        return new BackendStore() {
            @Override
            public String read(String path) {
                return store.read(path);
            }

            @Override
            public void write(String path, String value) {
                store.write(path, value);
            }

            @Override
            public void mkdir(String path) {
                if (store.read(path) == null) {
                    store.write(path, "");
                }
            }

            @Override
            public void remove(String path) {
                store.remove(path);
            }

            @Override
            public List<String> directory(String path) {
                return store.directory(path);
            }

            @Override
            public boolean exists(String path) {
                return store.read(path) != null;
            }

            @Override
            public void setPermissions(String path, List<String> permissions) {
                synchronized (store) {
                    store.perms.put(path, List.copyOf(permissions));
                }
            }

            @Override
            public Watch watch(String path, Consumer<String> onChange) {
                Object[] w = { path, (Consumer<String>) changed -> self.executor().execute(() -> onChange.accept(changed)) };
                store.watches.add(w);
                self.executor().execute(() -> onChange.accept(path));
                return () -> store.watches.remove(w);
            }
        };
    }

    @Override
    public EventChannel bindInterdomain(int remotePort, Runnable onEvent) {
        if (remotePort != frontendPort) {
            throw new BackendException("EINVAL: d" + domid + " has no unbound port " + remotePort);
        }
        backendHandler = onEvent;
        return new EventChannel() {
            volatile boolean open = true;

            @Override
            public int localPort() {
                return 100 + domid;
            }

            @Override
            public int remotePort() {
                return remotePort;
            }

            @Override
            public void notifyRemote() {
                if (open) {
                    notifications.incrementAndGet();
                    notified.release();
                }
            }

            @Override
            public void close() {
                open = false;
                backendHandler = null;
            }
        };
    }

    int frontendPort() {
        return frontendPort;
    }

    @Override
    public EventChannel allocateUnbound(Runnable onEvent) {
        throw new UnsupportedOperationException();
    }

    @Override
    public GrantMapping mapGrant(int ref, boolean writable) {
        Page p = grants.get(ref);
        if (p == null || (writable && !p.writable)) {
            throw new BackendException("cannot map grant " + ref + " of d" + domid + " (GNTST_bad_gntref)");
        }
        return new GrantMapping() {
            volatile boolean live = true;

            @Override
            public int ref() {
                return ref;
            }

            @Override
            public boolean writable() {
                return writable;
            }

            @Override
            public boolean live() {
                return live;
            }

            private void check(int off, int len, boolean write) {
                if (!live || off < 0 || len < 0 || off + len > PAGE_SIZE || (write && !writable)) {
                    throw new BackendException("refused access to grant " + ref);
                }
            }

            @Override
            public int read8(int offset) {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read16(int offset) {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read32(int offset) {
                check(offset, 4, false);
                return p.read32(offset);
            }

            @Override
            public void write8(int offset, int value) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void write16(int offset, int value) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void write32(int offset, int value) {
                check(offset, 4, true);
                p.write32(offset, value);
            }

            @Override
            public void read(int offset, byte[] dst, int dstOff, int len) {
                check(offset, len, false);
                p.read(offset, dst, dstOff, len);
            }

            @Override
            public void write(int offset, byte[] src, int srcOff, int len) {
                check(offset, len, true);
                p.write(offset, src, srcOff, len);
            }

            @Override
            public void unmap() {
                live = false;
            }
        };
    }

    @Override
    public void copyFromGrant(int ref, int offset, byte[] dst, int dstOff, int len) {
        Page p = grants.get(ref);
        if (p == null || offset < 0 || len < 0 || offset + len > GrantMapping.PAGE_SIZE || dstOff < 0 || dstOff + len > dst.length) {
            throw new BackendException("grant copy from grant " + ref + " of d" + domid + " refused (GNTST_bad_gntref)");
        }
        p.read(offset, dst, dstOff, len);
    }

    @Override
    public void copyToGrant(int ref, int offset, byte[] src, int srcOff, int len) {
        Page p = grants.get(ref);
        if (p == null || !p.writable || offset < 0 || len < 0 || offset + len > GrantMapping.PAGE_SIZE || srcOff < 0
                || srcOff + len > src.length) {
            throw new BackendException("grant copy to grant " + ref + " of d" + domid + " refused (GNTST_permission_denied)");
        }
        p.write(offset, src, srcOff, len);
    }

    @Override
    public void log(String message) {
        log.add(message);
    }
}
