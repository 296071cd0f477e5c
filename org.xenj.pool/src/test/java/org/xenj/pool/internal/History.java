package org.xenj.pool.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What every host's hypervisor did to pool domains, in one total order (all hosts are in this JVM,
 * so one lock orders them). The checker replays it, Jepsen-style: at no point may a domain run on
 * two hosts.
 */
final class History {

    /** SHUTDOWN: the guest shut down or crashed by itself (it no longer runs; destroyed or restarted next). */
    enum Kind { CREATE, PAUSE, UNPAUSE, DESTROY, SHUTDOWN }

    record Event(long seq, String host, String domain, Kind kind) {
    }

    private final List<Event> events = new ArrayList<>();
    /** The test pool's hypervisors by address: where a fake migration goes. */
    final Map<String, FakeHypervisor> network = new java.util.concurrent.ConcurrentHashMap<>();

    /** Applies {@code change} and records it under the same lock, so the order is the order things happened. */
    synchronized void record(String host, String domain, Kind kind, Runnable change) {
        change.run();
        events.add(new Event(events.size(), host, domain, kind));
    }

    synchronized List<Event> events() {
        return List.copyOf(events);
    }

    synchronized long firstSeq(String host, String domain, Kind kind, long after) {
        for (Event e : events) {
            if (e.seq() > after && e.host().equals(host) && e.domain().equals(domain) && e.kind() == kind) {
                return e.seq();
            }
        }
        return -1;
    }

    /** Every moment at which a domain ran on more than one host, as readable lines; empty = none. */
    synchronized List<String> violations() {
        Map<String, Set<String>> runningOn = new HashMap<>();
        List<String> bad = new ArrayList<>();
        for (Event e : events) {
            Set<String> hosts = runningOn.computeIfAbsent(e.domain(), k -> new HashSet<>());
            switch (e.kind()) {
                case CREATE, UNPAUSE -> hosts.add(e.host());
                case PAUSE, DESTROY, SHUTDOWN -> hosts.remove(e.host());
                default -> throw new IllegalStateException();
            }
            if (hosts.size() > 1) {
                bad.add("#" + e.seq() + " " + e.domain() + " runs on " + hosts);
            }
        }
        return bad;
    }
}
