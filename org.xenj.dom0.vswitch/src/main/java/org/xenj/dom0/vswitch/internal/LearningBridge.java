package org.xenj.dom0.vswitch.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.FrameReceiver;
import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.MacEntry;
import org.xenj.dom0.vswitch.api.Port;

/**
 * A learning bridge: source addresses are learned per port (and forgotten after
 * {@link #ageingMillis()} without traffic, or when their port closes); a unicast frame to a known
 * address goes to that port only, anything else to every port but the sender's. The frame's array
 * is shared by all receivers, never copied.
 */
final class LearningBridge implements Bridge {

    /** A learned address; updated in place while it stays on one port, so steady traffic allocates nothing here. */
    private static final class Learned {
        volatile SwitchPort port;
        volatile long seenNanos;

        Learned(SwitchPort port, long seenNanos) {
            this.port = port;
            this.seenNanos = seenNanos;
        }
    }

    private final String name;
    private final long ageingNanos;
    private final LongSupplier clock;
    private final Consumer<String> log;
    private final List<SwitchPort> ports = new CopyOnWriteArrayList<>();
    private final Map<Long, Learned> macs = new ConcurrentHashMap<>();
    private final Set<String> logged = ConcurrentHashMap.newKeySet();
    private final TapAttachments taps;
    private volatile String hostLink = "none";

    LearningBridge(String name, long ageingMillis, LongSupplier clock, Consumer<String> log, TapAttachments taps) {
        this.name = name;
        this.ageingNanos = ageingMillis * 1_000_000L;
        this.clock = clock;
        this.log = log;
        this.taps = taps;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Port attach(String portName, Executor executor, int queueCapacity, FrameReceiver receiver) {
        SwitchPort p = new SwitchPort(this, portName, executor, queueCapacity, receiver);
        synchronized (this) {
            boolean placed = false;
            for (SwitchPort q : ports) {
                if (q.isParked() && q.name().equals(portName)) {
                    // A hand-over. Order matters: first the parked port's waiting frames go to p and
                    // anything reaching q from now on follows them there; only then may senders reach p
                    // directly (addresses re-pointed, p in the flooding list). The other way round a
                    // frame sent to p directly overtook older ones still waiting in q.
                    q.handTo(p);
                    macs.values().forEach(l -> {
                        if (l.port == q) {
                            l.port = p;
                        }
                    });
                    // one step: a flood reaches q (and through it p) or p, never both (that was a duplicate)
                    if (placed) {
                        ports.remove(q);
                    } else {
                        ports.set(ports.indexOf(q), p);
                        placed = true;
                    }
                }
            }
            if (!placed) {
                ports.add(p);
            }
        }
        return p;
    }

    synchronized void detach(SwitchPort p) {
        ports.remove(p);
        macs.values().removeIf(l -> l.port == p);
    }

    /** Learns the sender's address and passes the frame on (called on the sender's thread; runs no receiver). */
    void forward(SwitchPort from, byte[] frame, int length) {
        long dst = Frames.mac(frame, 0);
        long src = Frames.mac(frame, 6);
        long now = clock.getAsLong();
        if (!Frames.isGroup(src) && src != 0) {
            learn(src, from, now);
        }
        if (!Frames.isGroup(dst)) {
            Learned l = macs.get(dst);
            if (l != null) {
                if (now - l.seenNanos <= ageingNanos && l.port.isOpen()) {
                    if (l.port != from) {
                        l.port.deliver(frame, length);
                    }
                    return; // to the sender's own segment: nothing to do
                }
                macs.remove(dst, l);
            }
        }
        for (SwitchPort p : ports) {
            if (p != from) {
                p.deliver(frame, length);
            }
        }
    }

    private void learn(long mac, SwitchPort port, long now) {
        Learned l = macs.get(mac);
        if (l == null) {
            macs.put(mac, new Learned(port, now));
        } else {
            l.port = port; // a guest that moved, or two ports claiming one address: the latest wins, as in Linux
            l.seenNanos = now;
        }
    }

    @Override
    public List<Port> ports() {
        return List.copyOf(ports);
    }

    @Override
    public List<MacEntry> macTable() {
        long now = clock.getAsLong();
        List<MacEntry> out = new ArrayList<>();
        macs.forEach((mac, l) -> {
            long age = now - l.seenNanos;
            if (age <= ageingNanos) {
                out.add(new MacEntry(Frames.format(mac), l.port.name(), age / 1_000_000L));
            }
        });
        out.sort(Comparator.comparing(MacEntry::mac));
        return out;
    }

    @Override
    public long ageingMillis() {
        return ageingNanos / 1_000_000L;
    }

    @Override
    public String attachTap(String tapName) {
        hostLink = taps.attach(this, tapName);
        return hostLink;
    }

    @Override
    public String hostLink() {
        return hostLink;
    }

    /** Logs {@code message} the first time it is seen on this bridge. */
    void logOnce(String message) {
        if (logged.add(message)) {
            log.accept("bridge " + name + ": " + message);
        }
    }

    /** Closes every port (the switch stops). */
    void close() {
        for (SwitchPort p : ports) {
            p.close();
        }
    }

    @Override
    public String toString() {
        return "bridge " + name;
    }
}
