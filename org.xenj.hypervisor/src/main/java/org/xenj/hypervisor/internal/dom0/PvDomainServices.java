package org.xenj.hypervisor.internal.dom0;

import java.util.List;

import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.xenstore.XenStore;
import org.xenj.hypervisor.internal.xenstore.XsRingConnection;

/**
 * Domain 0's services for one guest, set up as the toolstack does: an unbound port of the guest
 * for the console and one for xenstore, bound by Dom0's Java backends; the domain introduced in
 * xenstore with its {@code /local/domain/<id>} home and console entries.
 */
public final class PvDomainServices {

    private final XenHost host;
    private final XenDomain domain;
    private final PvConsoleBackend console;
    private final XsRingConnection store;
    private final int dom0ConsolePort;
    private final int dom0StorePort;
    /** Set by {@link #close}: Dom0's ports are given back and may already serve another domain. */
    private volatile boolean closed;

    /** Step 1, before the start-of-day layout (start_info names the ports): the guest's unbound ports. */
    public static void allocatePorts(XenDomain d) {
        d.consolePort = d.evtchn.allocUnbound(0);
        d.storePort = d.evtchn.allocUnbound(0);
        if (d.consolePort < 0 || d.storePort < 0) {
            throw new IllegalStateException("no event channel for console/xenstore");
        }
    }

    /** Step 2, once the rings exist: Dom0's backends bind and the domain is introduced. */
    public PvDomainServices(XenHost host, XenDomain d, String name) {
        this(host, d, name, true);
    }

    /**
     * As above; {@code consoleInput} false leaves the domain's console input where it is (an HVM
     * domain's serial line keeps it; the PV console ring only carries output then).
     */
    public PvDomainServices(XenHost host, XenDomain d, String name, boolean consoleInput) {
        this.host = host;
        this.domain = d;
        dom0ConsolePort = bind(host, d.domid, d.consolePort, "console");
        try {
            dom0StorePort = bind(host, d.domid, d.storePort, "xenstore");
        } catch (IllegalStateException e) {
            host.dom0Evtchn.close(dom0ConsolePort); // not half bound
            throw e;
        }
        console = new PvConsoleBackend(d.machine, d.consoleMfn, d.context::consoleOutput, () -> {
            if (!closed) {
                host.dom0Evtchn.send(dom0ConsolePort);
            }
        });
        store = new XsRingConnection(host.store, d.domid, d.machine, d.storeMfn, () -> {
            if (!closed) {
                host.dom0Evtchn.send(dom0StorePort);
            }
        }, d.context::log);
        host.dom0Events.listen(dom0ConsolePort, p -> console.service());
        host.dom0Events.listen(dom0StorePort, p -> store.service());
        XenStore xs = host.store;
        xs.introduceDomain(d.domid, name);
        String home = XenStore.domainPath(d.domid);
        xs.write(0, home + "/console/ring-ref", Integer.toString(d.consoleMfn));
        xs.write(0, home + "/console/port", Integer.toString(d.consolePort));
        xs.write(0, home + "/console/type", "xenconsoled");
        xs.write(0, home + "/store/ring-ref", Integer.toString(d.storeMfn));
        xs.write(0, home + "/store/port", Integer.toString(d.storePort));
        xs.write(0, home + "/memory/target", Long.toString(d.pseudoPhysPages() * 4L));
        xs.setPerms(0, 0, home + "/console", List.of("n" + d.domid));
        if (consoleInput) {
            d.context.setConsoleInput(data -> console.input(data, 0, data.length));
        }
    }

    /**
     * Detaches Dom0's Java ends: closes Dom0's two ports (the domain's own close with it, which would
     * leave Dom0's unbound for ever: after 1023 domains Dom0 could bind none). Backends detach through the core.
     */
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        host.dom0Evtchn.close(dom0ConsolePort); // also drops the listener (Dom0Events.clearPending)
        host.dom0Evtchn.close(dom0StorePort);
    }

    private static int bind(XenHost host, int domid, int port, String what) {
        int p = host.dom0Evtchn.bindInterdomain(domid, port);
        if (p < 0) { // -ENOSPC: Dom0 has no free port; never an index into its tables
            throw new IllegalStateException("Domain 0 cannot bind d" + domid + "'s " + what + " event channel (error " + p + ")");
        }
        return p;
    }

    public PvConsoleBackend console() {
        return console;
    }

    public XsRingConnection store() {
        return store;
    }

    public XenDomain domain() {
        return domain;
    }
}
