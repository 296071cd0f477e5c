package org.xenj.dom0.vfb.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * A frontend domain as the vfb backend sees it through the backend SPI, for tests: its RAM is a
 * map of frame numbers to pages (only those are mappable by number, as the hypervisor checks
 * ownership), its grants another map, xenstore a map whose watches fire at once on the calling
 * thread (the executor runs tasks in place). Pages of "another domain" exist too, so a test can
 * check they are never mapped.
 */
final class FakeFrontend implements BackendContext {

    final int domid = 7;
    final Map<Long, byte[]> frames = new HashMap<>();
    final Map<Long, byte[]> otherDomainsFrames = new HashMap<>();
    final Map<Integer, byte[]> grants = new HashMap<>();
    final TreeMap<String, String> xs = new TreeMap<>();
    final List<Object[]> watches = new ArrayList<>();
    final List<String> log = new ArrayList<>();
    final String vfb;
    int notifies;
    int mapped;
    final Map<Integer, Runnable> ports = new HashMap<>();

    FakeFrontend(String vfb) {
        this.vfb = vfb;
    }

    byte[] frame(long gfn) {
        return frames.computeIfAbsent(gfn, g -> new byte[GrantMapping.PAGE_SIZE]);
    }

    void signal(int port) {
        Runnable r = ports.get(port);
        if (r != null) {
            r.run();
        }
    }

    @Override
    public String kind() {
        return "vfb";
    }

    @Override
    public int frontendDomid() {
        return domid;
    }

    @Override
    public DomainConfig config() {
        return DomainConfig.builder("fe").type(DomainType.HVM).memoryMiB(16).raw(vfb == null ? Map.of() : Map.of("vfb", vfb)).build();
    }

    @Override
    public String frontendPath() {
        return "/local/domain/" + domid;
    }

    @Override
    public String backendPath() {
        return "/local/domain/0/backend/vfb/" + domid;
    }

    @Override
    public Executor executor() {
        return Runnable::run;
    }

    @Override
    public BackendStore store() {
        return new BackendStore() {
            @Override
            public String read(String path) {
                return xs.get(path);
            }

            @Override
            public void write(String path, String value) {
                xs.put(path, value);
                for (Object[] w : new ArrayList<>(watches)) {
                    if (path.equals(w[0]) || path.startsWith(w[0] + "/")) {
                        @SuppressWarnings("unchecked")
                        Consumer<String> c = (Consumer<String>) w[1];
                        c.accept(path);
                    }
                }
            }

            @Override
            public void mkdir(String path) {
                xs.putIfAbsent(path, "");
            }

            @Override
            public void remove(String path) {
                xs.keySet().removeIf(k -> k.equals(path) || k.startsWith(path + "/"));
            }

            @Override
            public List<String> directory(String path) {
                return List.of();
            }

            @Override
            public boolean exists(String path) {
                return xs.containsKey(path);
            }

            @Override
            public void setPermissions(String path, List<String> permissions) {
            }

            @Override
            public Watch watch(String path, Consumer<String> onChange) {
                Object[] w = { path, onChange };
                watches.add(w);
                onChange.accept(path);
                return () -> watches.remove(w);
            }
        };
    }

    @Override
    public EventChannel bindInterdomain(int remotePort, Runnable onEvent) {
        ports.put(remotePort, onEvent);
        return new EventChannel() {
            @Override
            public int localPort() {
                return 100 + remotePort;
            }

            @Override
            public int remotePort() {
                return remotePort;
            }

            @Override
            public void notifyRemote() {
                notifies++;
            }

            @Override
            public void close() {
                ports.remove(remotePort, onEvent);
            }
        };
    }

    @Override
    public EventChannel allocateUnbound(Runnable onEvent) {
        throw new UnsupportedOperationException();
    }

    @Override
    public GrantMapping mapGrant(int ref, boolean writable) {
        byte[] p = grants.get(ref);
        if (p == null) {
            throw new BackendException("cannot map grant " + ref + " (GNTST_bad_gntref)");
        }
        mapped++;
        return new Page(p, ref, writable);
    }

    @Override
    public GrantMapping mapGuestFrame(long gfn, boolean writable) {
        byte[] p = frames.get(gfn); // a frame of another domain is not the frontend's: refused as the hypervisor does
        if (p == null) {
            throw new BackendException("frame " + gfn + " is not d" + domid + "'s RAM");
        }
        mapped++;
        return new Page(p, -1, writable);
    }

    @Override
    public void copyFromGrant(int ref, int offset, byte[] dst, int dstOff, int len) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void copyToGrant(int ref, int offset, byte[] src, int srcOff, int len) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void log(String message) {
        log.add(message);
    }

    /** A page with the SPI's checks: bounds, alignment, read-only, unmapped. */
    final class Page implements GrantMapping {
        final byte[] b;
        final int ref;
        final boolean writable;
        boolean unmapped;

        Page(byte[] b, int ref, boolean writable) {
            this.b = b;
            this.ref = ref;
            this.writable = writable;
        }

        private void check(int off, int len, int align, boolean write) {
            if (off < 0 || len < 0 || off > PAGE_SIZE - len || off % align != 0) {
                throw new BackendException("outside the page: " + off + "+" + len);
            }
            if (unmapped) {
                throw new BackendException("unmapped");
            }
            if (write && !writable) {
                throw new BackendException("read-only");
            }
        }

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
            return !unmapped;
        }

        @Override
        public int read8(int o) {
            check(o, 1, 1, false);
            return b[o] & 0xff;
        }

        @Override
        public int read16(int o) {
            check(o, 2, 2, false);
            return b[o] & 0xff | (b[o + 1] & 0xff) << 8;
        }

        @Override
        public int read32(int o) {
            check(o, 4, 4, false);
            return FbProtocol.int32(b, o);
        }

        @Override
        public void write8(int o, int v) {
            check(o, 1, 1, true);
            b[o] = (byte) v;
        }

        @Override
        public void write16(int o, int v) {
            check(o, 2, 2, true);
            b[o] = (byte) v;
            b[o + 1] = (byte) (v >>> 8);
        }

        @Override
        public void write32(int o, int v) {
            check(o, 4, 4, true);
            put32(b, o, v);
        }

        @Override
        public void read(int o, byte[] dst, int dstOff, int len) {
            check(o, len, 1, false);
            System.arraycopy(b, o, dst, dstOff, len);
        }

        @Override
        public void write(int o, byte[] src, int srcOff, int len) {
            check(o, len, 1, true);
            System.arraycopy(src, srcOff, b, o, len);
        }

        @Override
        public void unmap() {
            unmapped = true;
            mapped--;
        }
    }

    static void put32(byte[] b, int o, int v) {
        b[o] = (byte) v;
        b[o + 1] = (byte) (v >>> 8);
        b[o + 2] = (byte) (v >>> 16);
        b[o + 3] = (byte) (v >>> 24);
    }
}
