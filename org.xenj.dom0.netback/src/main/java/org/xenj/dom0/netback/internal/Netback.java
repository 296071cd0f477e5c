package org.xenj.dom0.netback.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.xenj.dom0.netback.api.NetworkService;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.vswitch.api.VirtualSwitch;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendHotplug;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * Domain 0's network backend: the {@code vif} {@link Backend} (Xen's netif protocol over the
 * backend SPI, frames switched by the {@link VirtualSwitch}) and the {@link NetworkService} the
 * toolstack's {@code xen:network-*} commands use.
 */
@Component(service = { Backend.class, NetworkService.class }, property = Backend.KIND + "=" + Netback.KIND)
public final class Netback implements Backend, NetworkService {

    public static final String KIND = "vif";

    private final VirtualSwitch vswitch;
    private final Map<Integer, DomainNetwork> domains = new ConcurrentHashMap<>();
    /** The hypervisor's hot-plug side: attaches netback to a domain created without vifs. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile BackendHotplug hotplug;
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "xenj-netback-timer");
        t.setDaemon(true);
        return t;
    });

    @Activate
    public Netback(@Reference VirtualSwitch vswitch) {
        this.vswitch = vswitch;
    }

    @Deactivate
    public void close() {
        timers.shutdownNow();
    }

    @Override
    public BackendInstance attach(BackendContext context) {
        DomainNetwork d = new DomainNetwork(context, vswitch, timers);
        int domid = context.frontendDomid();
        domains.put(domid, d);
        d.start();
        return instance(domid, d);
    }

    /** The hand-over: a previous netback's vifs for this domain, from its record. */
    @Override
    public BackendInstance attach(BackendContext context, byte[] state) {
        NetbackState record;
        try {
            record = NetbackState.fromBytes(state);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("handed-over state refused: " + e.getMessage(), e);
        }
        DomainNetwork d = new DomainNetwork(context, vswitch, timers);
        d.restore(record);
        domains.put(context.frontendDomid(), d);
        return instance(context.frontendDomid(), d);
    }

    private BackendInstance instance(int domid, DomainNetwork d) {
        return new BackendInstance() {
            @Override
            public void detach() {
                d.detach();
                domains.remove(domid, d);
            }

            @Override
            public byte[] saveState() {
                return d.saveState();
            }
        };
    }

    private DomainNetwork domain(int domid) {
        DomainNetwork d = domains.get(domid);
        if (d == null) {
            throw new IllegalArgumentException("d" + domid + " has no network backend (it was created without a vif, or is not running)");
        }
        return d;
    }

    @Override
    public List<VifInfo> list(int domid) {
        return domain(domid).list();
    }

    /** Outside OSGi (in-process boots, tests): the hypervisor's hot-plug side. */
    public void setBackendHotplug(BackendHotplug hotplug) {
        this.hotplug = hotplug;
    }

    /** As xl network-attach: Domain 0's netback serves the domain even if it was created without a vif. */
    @Override
    public VifInfo attach(int domid, String spec) {
        BackendHotplug h = hotplug;
        if (!domains.containsKey(domid) && h != null) {
            try {
                h.serve(domid, KIND);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("d" + domid + " has no network backend: " + e.getMessage(), e);
            }
        }
        return domain(domid).hotplug(spec);
    }

    @Override
    public void detach(int domid, String devidOrMac) {
        domain(domid).unplug(devidOrMac);
    }

    /** Test access. */
    DomainNetwork domainNetwork(int domid) {
        return domains.get(domid);
    }
}
