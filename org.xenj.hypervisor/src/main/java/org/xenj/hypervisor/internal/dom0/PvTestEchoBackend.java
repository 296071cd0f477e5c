package org.xenj.hypervisor.internal.dom0;

import java.nio.charset.StandardCharsets;

import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.xenabi.XenAbi;
import org.xenj.hypervisor.internal.xenstore.XenStore;
import org.xenj.hypervisor.internal.xenstore.XsException;

/**
 * Domain 0's end of the pv-test protocol (guests/pv-test): when a guest sets
 * {@code data/pv-test/state} to {@code ready}, map its granted page ({@code ring-ref}), check the
 * greeting, answer {@code backend-was-here} at offset 2048, bind its port, set {@code connected}
 * and signal. A small, real split-driver handshake (xenstore + grant + event channel) that any
 * PV domain may use; everything the guest wrote is checked before use.
 */
final class PvTestEchoBackend {

    private static final String GREETING = "xenj-grant-ok";
    private static final byte[] REPLY = "backend-was-here\0".getBytes(StandardCharsets.US_ASCII);

    private final XenHost host;
    private final int domid;
    private final String base;
    private boolean done;

    PvTestEchoBackend(XenHost host, int domid) {
        this.host = host;
        this.domid = domid;
        this.base = XenStore.domainPath(domid) + "/data/pv-test";
        host.store.watch(0, this, base + "/state", "pv-test-echo", (path, token) -> onState());
    }

    private synchronized void onState() {
        if (done) {
            return;
        }
        try {
            if (!host.store.exists(base + "/state") || !host.store.readString(0, base + "/state").equals("ready")) {
                return;
            }
            int ref = Integer.parseInt(host.store.readString(0, base + "/ring-ref"));
            int port = Integer.parseInt(host.store.readString(0, base + "/port"));
            int handle = host.dom0Grants.map(domid, ref, XenAbi.GNTMAP_HOST_MAP, 0, null);
            if (handle < 0) {
                fail("cannot map grant " + ref + " (GNTST " + handle + ")");
                return;
            }
            long page = (long) host.dom0Grants.mappedMfn(handle) << 12;
            byte[] hello = new byte[GREETING.length()];
            MachineFrames.copyOut(host.machine, page, hello, 0, hello.length);
            if (!GREETING.equals(new String(hello, StandardCharsets.US_ASCII))) {
                host.dom0Grants.unmap(handle, 0);
                fail("unexpected page content");
                return;
            }
            MachineFrames.copyIn(host.machine, page + 2048, REPLY, 0, REPLY.length);
            host.dom0Grants.unmap(handle, 0);
            int local = host.dom0Evtchn.bindInterdomain(domid, port);
            if (local < 0) {
                fail("cannot bind port " + port + " (" + local + ")");
                return;
            }
            done = true;
            host.store.write(0, base + "/state", "connected");
            host.dom0Evtchn.send(local);
        } catch (XsException | NumberFormatException e) {
            fail("bad xenstore entries: " + e.getMessage());
        }
    }

    private void fail(String why) {
        done = true;
        var d = host.domain(domid);
        if (d != null) {
            d.context.log("pv-test backend: " + why);
        }
    }

    void close() {
        host.store.dropConnection(0, this);
    }
}
