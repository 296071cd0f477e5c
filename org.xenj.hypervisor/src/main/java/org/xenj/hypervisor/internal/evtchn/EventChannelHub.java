package org.xenj.hypervisor.internal.evtchn;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * All domains' event-channel tables. Interdomain binds change two tables at once, so state changes
 * take one hub-wide lock (event-channel set-up is rare); delivery happens after the lock is
 * released, so a Dom0 listener may itself send.
 */
public final class EventChannelHub {

    final Object lock = new Object();
    private final ConcurrentMap<Integer, EventChannels> tables = new ConcurrentHashMap<>();

    /** Creates the table of a domain with {@code vcpus} vCPUs delivering through {@code delivery}. */
    public EventChannels register(int domid, int vcpus, EventDelivery delivery) {
        EventChannels t = new EventChannels(this, domid, vcpus, delivery);
        if (tables.putIfAbsent(domid, t) != null) {
            throw new IllegalStateException("domain " + domid + " already has event channels");
        }
        return t;
    }

    public EventChannels table(int domid) {
        return tables.get(domid);
    }

    /** Closes every port of {@code domid} (peers see their ports become unbound) and forgets it. */
    public void unregister(int domid) {
        EventChannels t = tables.get(domid);
        if (t != null) {
            t.closeAll();
            tables.remove(domid, t);
        }
    }
}
