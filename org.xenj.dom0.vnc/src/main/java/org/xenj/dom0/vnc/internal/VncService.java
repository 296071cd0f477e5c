package org.xenj.dom0.vnc.internal;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.dom0.vnc.api.VncConsoles;

/**
 * Domain 0's consoles: every {@link GuestDisplay} service gets a {@link DisplayHost} (screenshots
 * work for all of them) and, when its domain says {@code vnc=1}, a VNC server. Displays come and
 * go with their domains (dynamic reference).
 */
@Component(service = VncConsoles.class)
public final class VncService implements VncConsoles {

    private static final System.Logger LOG = System.getLogger(VncService.class.getName());
    private final Map<Integer, DisplayHost> hosts = new ConcurrentHashMap<>();
    /**
     * How long a display whose service went away keeps its port and clients for a successor (the
     * device's bundle being updated registers the next instance within this); then it is closed.
     */
    static final long ORPHAN_GRACE_MS = 10_000;
    private final java.util.concurrent.ScheduledExecutorService reaper = java.util.concurrent.Executors
            .newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "vnc-orphans");
                t.setDaemon(true);
                return t;
            });

    /** Also callable outside OSGi (in-process tests serve a device model's display with it). */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    public void addDisplay(GuestDisplay display) {
        VncSettings s;
        try {
            s = VncSettings.of(display.settings());
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "d" + display.domid() + ": " + e.getMessage() + "; no VNC console");
            s = new VncSettings(false, "127.0.0.1", -1, null, false);
        }
        DisplayHost current = hosts.get(display.domid());
        if (current != null && current.settings().equals(s) && current.takeOver(display)) {
            return; // the same console, drawn by a new instance of its device: port and clients stay
        }
        if (s.enabled() && s.display() >= 0) {
            // the port another domain's console kept for a successor that is not coming: this domain asks for it
            int wanted = VncSettings.BASE_PORT + s.display();
            hosts.forEach((id, o) -> {
                if (id != display.domid() && o.orphaned() && o.port() == wanted && hosts.remove(id, o)) {
                    o.close();
                }
            });
        }
        DisplayHost h = new DisplayHost(display, s, m -> LOG.log(System.Logger.Level.INFO, m));
        DisplayHost old = hosts.put(display.domid(), h);
        if (old != null) {
            old.close();
        }
        h.start();
    }

    /** The display's service went away: its host waits {@link #ORPHAN_GRACE_MS} for a successor, then closes. */
    public void removeDisplay(GuestDisplay display) {
        DisplayHost h = hosts.get(display.domid());
        if (h != null && h.display() == display) {
            h.orphan();
            try {
                reaper.schedule(() -> closeIfStillOrphaned(display.domid(), h), ORPHAN_GRACE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException deactivated) {
                closeIfStillOrphaned(display.domid(), h);
            }
        }
    }

    /** The console of {@code domid}, or null (tests). */
    DisplayHost host(int domid) {
        return hosts.get(domid);
    }

    /** The grace ended: a host no successor took over is closed (its port freed, its clients dropped). */
    void closeIfStillOrphaned(int domid, DisplayHost h) {
        if (h.orphaned() && hosts.remove(domid, h)) {
            h.close();
        }
    }

    @Deactivate
    public void deactivate() {
        reaper.shutdownNow();
        hosts.values().forEach(DisplayHost::close);
        hosts.clear();
    }

    @Override
    public Optional<Endpoint> endpoint(int domid) {
        DisplayHost h = hosts.get(domid);
        return h == null ? Optional.empty() : Optional.of(h.endpoint());
    }

    @Override
    public Optional<Framebuffer> screenshot(int domid) {
        DisplayHost h = hosts.get(domid);
        return h == null ? Optional.empty() : Optional.ofNullable(h.screenshot());
    }
}
