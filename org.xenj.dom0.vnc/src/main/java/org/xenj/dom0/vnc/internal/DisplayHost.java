package org.xenj.dom0.vnc.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.dom0.vnc.api.VncConsoles;

/**
 * One domain's display: its framebuffer, kept by one display thread, and — when the domain asks
 * for it — the VNC server on its port. The display thread refreshes the picture only while clients
 * are connected (25 times a second; an unchanged screen is one scan of the source's dirty map) or
 * for a screenshot, and encodes updates for clients that asked; each client's writes run on its own
 * thread. A client whose write has not finished after {@link #STALL_NANOS} is dropped.
 */
final class DisplayHost {

    static final long TICK_MS = 40;
    static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** How long a write may hang before its client is dropped (tests shorten it). */
    volatile long stallNanos = STALL_NANOS;

    /** Swapped by {@link #takeOver} when the device that draws it is replaced (a bundle update). */
    private volatile GuestDisplay display;
    /** Its display service went away: the last picture stays, input is dropped, until a successor or the grace ends. */
    private volatile boolean orphaned;
    final AtomicLong inputDropped = new AtomicLong();
    private final VncSettings settings;
    private final Consumer<String> log;
    private final ScheduledExecutorService thread;
    private final Framebuffer fb = new Framebuffer(640, 480);
    private final List<RfbClient> clients = new CopyOnWriteArrayList<>();
    private final ExecutorService clientThreads;
    private ServerSocket server;
    private volatile Thread acceptThread;
    private ScheduledFuture<?> ticking;
    private volatile int width = 640, height = 480;
    final AtomicLong internalErrors = new AtomicLong();
    private volatile boolean closed;

    DisplayHost(GuestDisplay display, VncSettings settings, Consumer<String> log) {
        this.display = display;
        this.settings = settings;
        this.log = log;
        String name = "vnc-d" + display.domid();
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, name + "-display"));
        this.clientThreads = Executors.newCachedThreadPool(r -> daemon(r, name + "-client"));
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    VncSettings settings() {
        return settings;
    }

    GuestDisplay display() {
        return display;
    }

    void log(String m) {
        log.accept("d" + display.domid() + " vnc: " + m);
    }

    String desktopName() {
        return display.domainName();
    }

    /** Opens the listening socket when the domain asks for VNC; logs why not otherwise. */
    void start() {
        if (!settings.enabled()) {
            return;
        }
        InetAddress addr;
        try {
            addr = InetAddress.getByName(settings.listen());
        } catch (IOException e) {
            log("vnclisten=" + settings.listen() + " is not an address: " + e.getMessage() + "; no VNC console");
            return;
        }
        int first = settings.display() >= 0 ? settings.display() : 0;
        int last = settings.display() >= 0 ? settings.display() : VncSettings.MAX_DISPLAY - 1;
        for (int d = first; d <= last && server == null; d++) {
            try {
                ServerSocket s = new ServerSocket();
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(addr, VncSettings.BASE_PORT + d));
                server = s;
            } catch (IOException e) {
                if (settings.display() >= 0) {
                    log("cannot listen on " + settings.listen() + ":" + (VncSettings.BASE_PORT + d) + ": " + e.getMessage()
                            + "; no VNC console");
                }
            }
        }
        if (server == null) {
            return;
        }
        Thread accept = daemon(this::acceptLoop, "vnc-d" + display.domid() + "-accept");
        acceptThread = accept;
        accept.start();
        log("listening on " + settings.listen() + ":" + server.getLocalPort() + " (display " + (server.getLocalPort() - 5900)
                + (settings.password() != null ? ", password" : "") + (settings.shared() ? ", shared" : "") + ")");
    }

    int port() {
        ServerSocket s = server;
        return s == null ? -1 : s.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    log("accept failed: " + e.getMessage());
                }
                return;
            }
            int[] size = currentSize();
            RfbClient c = new RfbClient(this, s, size[0], size[1]);
            try {
                clientThreads.execute(c::run);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                c.close();
            }
        }
    }

    /** Null when {@code c} may connect, else why not (a second client without sharing). */
    synchronized String admit(RfbClient c) {
        if (closed) {
            return "the domain's console is closing";
        }
        if (!settings.shared() && !clients.isEmpty()) {
            log("refused " + c.peer + ": another client is connected (vncshared=1 allows several)");
            return "another client is connected to this console (the domain has no vncshared=1)";
        }
        clients.add(c);
        return null;
    }

    boolean otherClients(RfbClient c) {
        return clients.stream().anyMatch(o -> o != c);
    }

    void clientReady(RfbClient c) {
        onDisplayThread(() -> {
            c.damage = new DamageMap(fb.width(), fb.height());
            c.damage.add(0, 0, fb.width(), fb.height());
            if (ticking == null) {
                ticking = thread.scheduleWithFixedDelay(this::tickSafely, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
            }
        });
        log("client " + c.peer + " connected");
    }

    void clientGone(RfbClient c) {
        if (clients.remove(c)) {
            log("client " + c.peer + " disconnected (" + c.updatesSent + " updates, " + c.bytesSent + " bytes)");
        }
        onDisplayThread(() -> {
            c.encoder.end();
            if (clients.isEmpty() && ticking != null) {
                ticking.cancel(false);
                ticking = null; // nobody watches: no refreshes at all
            }
        });
    }

    void onDisplayThread(Runnable r) {
        try {
            thread.execute(() -> {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    internalErrors.incrementAndGet();
                    log("internal error: " + e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // the display is going away
        }
    }

    /**
     * The display service went away (its bundle stops or is updated): clients stay connected and
     * keep the last picture; their input is dropped until {@link #takeOver} (or the host is closed).
     */
    void orphan() {
        orphaned = true;
        log("display " + display.deviceName() + " went away; clients kept for its successor");
    }

    boolean orphaned() {
        return orphaned;
    }

    /**
     * A new instance of the domain's display (the device's bundle was updated and handed its
     * state over): the same port and clients go on with it; its whole picture is read once and
     * sent as the clients ask. False if this host is closed.
     */
    boolean takeOver(GuestDisplay next) {
        if (closed) {
            return false;
        }
        display = next;
        orphaned = false;
        onDisplayThread(() -> display.source().refresh(fb, true));
        log("display taken over by a new " + next.deviceName() + " instance; " + clients.size() + " client(s) kept");
        return true;
    }

    void wake() {
        onDisplayThread(this::tick);
    }

    void key(int code, boolean down) {
        if (orphaned) {
            inputDropped.incrementAndGet();
            return;
        }
        display.input().key(code, down);
    }

    void pointer(int x, int y, int buttons) {
        if (orphaned) {
            inputDropped.incrementAndGet();
            return;
        }
        display.input().pointer(Math.min(x, width - 1), Math.min(y, height - 1), buttons, width, height);
    }

    private int[] currentSize() {
        try {
            return thread.submit(() -> {
                if (!orphaned) {
                    display.source().refresh(fb, false);
                }
                width = fb.width();
                height = fb.height();
                return new int[] { fb.width(), fb.height() };
            }).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            return new int[] { width, height };
        }
    }

    private void tickSafely() {
        try {
            tick();
        } catch (RuntimeException e) {
            internalErrors.incrementAndGet();
            log("internal error: " + e);
        }
    }

    /** Display thread: the picture, then an update for every client that asked and is not still writing. */
    private void tick() {
        if (!orphaned) {
            display.source().refresh(fb, false);
        }
        width = fb.width();
        height = fb.height();
        if (fb.hasDamage()) {
            boolean resized = fb.resized();
            List<int[]> rects = fb.takeDamage();
            for (RfbClient c : clients) {
                if (c.damage == null) {
                    continue;
                }
                if (resized || c.damage.width != fb.width() || c.damage.height != fb.height()) {
                    c.damage = new DamageMap(fb.width(), fb.height());
                    c.damage.add(0, 0, fb.width(), fb.height());
                } else {
                    for (int[] r : rects) {
                        c.damage.add(r[0], r[1], r[2], r[3]);
                    }
                }
            }
        }
        long now = System.nanoTime();
        for (RfbClient c : clients) {
            long started = c.writeStarted;
            if (started != 0 && now - started > stallNanos && !c.closed()) {
                log("client " + c.peer + " stopped reading for " + TimeUnit.NANOSECONDS.toSeconds(now - started) + " s: dropped");
                c.close();
                continue;
            }
            int[] req = c.request;
            if (req == null || c.busy || c.damage == null || c.closed()) {
                continue;
            }
            PixelFormat f = c.pendingFormat;
            if (f != null) {
                c.pendingFormat = null;
                c.encoder.format = f;
            }
            int[] encodings = c.pendingEncodings;
            if (encodings != null) {
                c.pendingEncodings = null;
                c.encoder.setEncodings(encodings);
            }
            if (req[4] == 0) { // non-incremental: the requested area, clipped to the screen, in full
                c.damage.add(req[0], req[1], req[2], req[3]);
            }
            if (c.damage.isEmpty() && c.encoder.clientWidth == fb.width() && c.encoder.clientHeight == fb.height()) {
                continue; // nothing new: the request waits
            }
            byte[] update = c.encoder.update(fb.pixels(), fb.width(), fb.height(), c.damage.take());
            if (update == null) {
                continue;
            }
            c.request = null;
            c.busy = true;
            try {
                clientThreads.execute(() -> c.write(update));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                c.close();
            }
        }
    }

    /** The current screen, fully refreshed, as a copy; null if the display thread does not answer. */
    Framebuffer screenshot() {
        try {
            Future<Framebuffer> f = thread.submit(() -> {
                display.source().refresh(fb, true);
                Framebuffer copy = new Framebuffer(fb.width(), fb.height());
                System.arraycopy(fb.pixels(), 0, copy.pixels(), 0, fb.width() * fb.height());
                copy.takeDamage();
                return copy;
            });
            return f.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            log("screenshot failed: " + e);
            return null;
        }
    }

    VncConsoles.Endpoint endpoint() {
        int port = port();
        return new VncConsoles.Endpoint(display.domid(), settings.listen(), port, port < 0 ? -1 : port - VncSettings.BASE_PORT,
                settings.password() != null, settings.shared(), clients.size(), width, height, display.deviceName());
    }

    void close() {
        closed = true;
        try {
            if (server != null) {
                server.close();
            }
        } catch (IOException ignored) {
            // closing
        }
        // the JDK frees the port only when the thread blocked in accept() has left it: wait, so that a
        // console started next (another domain asking for this vncdisplay) can bind it
        Thread accept = acceptThread;
        if (accept != null && accept != Thread.currentThread()) {
            try {
                accept.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (RfbClient c : clients) {
            c.close();
        }
        thread.shutdownNow();
        clientThreads.shutdownNow();
    }
}
