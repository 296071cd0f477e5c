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
        DisplayHost h = new DisplayHost(display, s, m -> LOG.log(System.Logger.Level.INFO, m));
        DisplayHost old = hosts.put(display.domid(), h);
        if (old != null) {
            old.close();
        }
        h.start();
    }

    public void removeDisplay(GuestDisplay display) {
        DisplayHost h = hosts.get(display.domid());
        if (h != null && h.display() == display && hosts.remove(display.domid(), h)) {
            h.close();
        }
    }

    @Deactivate
    public void deactivate() {
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
