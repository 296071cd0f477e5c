package org.xenj.hypervisor.internal.backend;

import java.util.concurrent.atomic.AtomicBoolean;

import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.xenabi.XenAbi;
import org.xenj.hypervisor.spi.backend.EventChannel;

/**
 * A Domain 0 port owned by a backend. The frontend's send reaches {@link #signal} on the sending
 * vCPU's thread; that only queues one delivery on the backend's executor (further signals fold
 * into it until it runs), so the vCPU never runs backend code and a flood queues one task.
 */
final class SessionEventChannel implements EventChannel {

    private final BackendSession session;
    private final XenHost host;
    private final int localPort;
    private final Runnable onEvent;
    private final AtomicBoolean queued = new AtomicBoolean();
    private volatile boolean closed;

    SessionEventChannel(BackendSession session, XenHost host, int localPort, Runnable onEvent) {
        this.session = session;
        this.host = host;
        this.localPort = localPort;
        this.onEvent = onEvent;
    }

    /** Starts delivery (an event pending since the bind arrives now). */
    void listen() {
        host.dom0Events.listen(localPort, p -> signal());
    }

    private void signal() {
        if (!closed && queued.compareAndSet(false, true)) {
            session.execute(() -> {
                queued.set(false);
                if (!closed) {
                    onEvent.run();
                }
            });
        }
    }

    @Override
    public int localPort() {
        return localPort;
    }

    @Override
    public int remotePort() {
        int[] st = new int[4];
        if (host.dom0Evtchn.status(localPort, st) != 0 || st[0] != XenAbi.EVTCHNSTAT_INTERDOMAIN) {
            return 0;
        }
        return st[3];
    }

    @Override
    public void notifyRemote() {
        if (!closed) {
            host.dom0Evtchn.send(localPort);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        host.dom0Evtchn.close(localPort); // also drops the listener (Dom0Events.clearPending)
        session.forget(this);
    }
}
