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

    private final XenDomain domain;
    private final PvConsoleBackend console;
    private final XsRingConnection store;
    private final int dom0ConsolePort;
    private final int dom0StorePort;

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
        this.domain = d;
        dom0ConsolePort = host.dom0Evtchn.bindInterdomain(d.domid, d.consolePort);
        dom0StorePort = host.dom0Evtchn.bindInterdomain(d.domid, d.storePort);
        console = new PvConsoleBackend(d.machine, d.consoleMfn, d.context::consoleOutput,
                () -> host.dom0Evtchn.send(dom0ConsolePort));
        store = new XsRingConnection(host.store, d.domid, d.machine, d.storeMfn,
                () -> host.dom0Evtchn.send(dom0StorePort), d.context::log);
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

    /** Detaches Dom0's Java ends (the ports close with the domain; backends detach through the core). */
    public void close() {
        // nothing held beyond the domain's ports, which close with it
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
