package org.xenj.dom0.vfb.internal;

import java.util.Hashtable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * Domain 0's PV framebuffer backend: the {@code vfb} {@link Backend} (attached by the hypervisor to
 * every domain whose configuration has {@code vfb} entries), serving {@code vfb} and {@code vkbd}
 * and offering each domain's console as a {@link GuestDisplay} service, which the VNC bundle serves
 * when the vfb entry says {@code vnc=1}.
 */
@Component(service = Backend.class, property = Backend.KIND + "=" + VfbBackend.KIND)
public final class VfbBackend implements Backend {

    public static final String KIND = "vfb";

    /** Null outside OSGi (in-process boots, tests): the displays are then had from {@link #display}. */
    private volatile BundleContext bundle;
    private final Map<Integer, PvConsole> consoles = new ConcurrentHashMap<>();

    @Activate
    void activate(BundleContext bundle) {
        this.bundle = bundle;
    }

    @Override
    public BackendInstance attach(BackendContext context) {
        PvConsole c = new PvConsole(context);
        int domid = context.frontendDomid();
        c.create();
        consoles.put(domid, c);
        ServiceRegistration<?> reg = null;
        BundleContext bundle = this.bundle;
        if (bundle != null) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(GuestDisplay.DOMID, domid);
            reg = bundle.registerService(GuestDisplay.class, c, props);
        }
        ServiceRegistration<?> registration = reg;
        return () -> {
            if (registration != null) {
                try {
                    registration.unregister();
                } catch (IllegalStateException alreadyGone) {
                    // the bundle is stopping: the framework took it down already
                }
            }
            consoles.remove(domid, c);
            c.detach();
        };
    }

    /** The PV console of {@code domid}, or null: what the service registration offers, for use without OSGi. */
    public GuestDisplay display(int domid) {
        return consoles.get(domid);
    }
}
