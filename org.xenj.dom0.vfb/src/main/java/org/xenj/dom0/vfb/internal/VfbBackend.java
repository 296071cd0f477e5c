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

    /** How long a hand-over waits for the executor to take the record. */
    static final long SAVE_TIMEOUT_SECONDS = 10;

    @Override
    public BackendInstance attach(BackendContext context) {
        PvConsole c = new PvConsole(context);
        c.create();
        return serve(context, c);
    }

    /**
     * The hand-over (a bundle update or a replaced vfb backend): a previous instance's vfb and vkbd
     * for this domain, from its {@link VfbState} record — the frontend sees no reconnect, the screen
     * and the keyboard go on. A record of another format or version, or a damaged one, is refused
     * with the reason, and nothing is mapped or bound.
     */
    @Override
    public BackendInstance attach(BackendContext context, byte[] state) {
        VfbState record;
        try {
            record = VfbState.fromBytes(state);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("handed-over state refused: " + e.getMessage(), e);
        }
        PvConsole c = new PvConsole(context);
        c.restore(record);
        return serve(context, c);
    }

    private BackendInstance serve(BackendContext context, PvConsole c) {
        int domid = context.frontendDomid();
        consoles.put(domid, c);
        ServiceRegistration<?> reg = null;
        BundleContext bundle = this.bundle;
        if (bundle != null) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(GuestDisplay.DOMID, domid);
            reg = bundle.registerService(GuestDisplay.class, c, props);
        }
        ServiceRegistration<?> registration = reg;
        return new BackendInstance() {
            @Override
            public void detach() {
                if (registration != null) {
                    try {
                        registration.unregister();
                    } catch (IllegalStateException alreadyGone) {
                        // the bundle is stopping: the framework took it down already
                    }
                }
                consoles.remove(domid, c);
                c.detach();
            }

            /** Taken on the executor, where every ring access happens: nothing is in flight then. */
            @Override
            public byte[] saveState() {
                java.util.concurrent.CompletableFuture<byte[]> f = new java.util.concurrent.CompletableFuture<>();
                context.executor().execute(() -> {
                    try {
                        f.complete(c.save().toBytes());
                    } catch (RuntimeException e) {
                        f.completeExceptionally(e);
                    }
                });
                try {
                    return f.get(SAVE_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while saving the vfb state", e);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    throw new IllegalStateException("d" + domid + ": the vfb state could not be taken: " + e, e);
                }
            }
        };
    }

    /** The PV console of {@code domid}, or null: what the service registration offers, for use without OSGi. */
    public GuestDisplay display(int domid) {
        return consoles.get(domid);
    }
}
