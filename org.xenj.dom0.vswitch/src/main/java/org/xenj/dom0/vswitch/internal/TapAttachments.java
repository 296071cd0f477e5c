package org.xenj.dom0.vswitch.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import org.xenj.dom0.vswitch.api.Port;

/**
 * The host attachments of a switch's bridges: at most one TAP per bridge, each with a reader
 * thread (host to bridge) and a single-thread executor that writes what the bridge delivers (bridge
 * to host). When a TAP cannot be opened (no {@code /dev/net/tun}, no privilege, no JNA) the
 * reason is logged once and the bridge keeps switching between its other ports.
 */
final class TapAttachments {

    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9._-]{1,15}");

    /** One open TAP joined to a bridge. */
    private record Link(TapDevice device, Port port, ExecutorService writer) {
        void close() {
            port.close();
            writer.shutdownNow();
            device.close();
        }
    }

    private final Consumer<String> log;
    private final Map<String, Link> byBridge = new HashMap<>();
    private final Set<String> reasonsLogged = ConcurrentHashMap.newKeySet();

    TapAttachments(Consumer<String> log) {
        this.log = log;
    }

    /** Joins TAP {@code tapName} to {@code bridge} (replacing its previous TAP); returns the host link state. */
    synchronized String attach(LearningBridge bridge, String tapName) {
        Link old = byBridge.remove(bridge.name());
        if (old != null) {
            old.close();
        }
        if (tapName == null || !IFNAME.matcher(tapName).matches()) {
            return unavailable(tapName, "not an interface name (1-15 of letters, digits, '.', '-', '_')");
        }
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            return unavailable(tapName, "no /dev/net/tun on this host");
        }
        TapDevice device;
        try {
            device = TapDevice.open(tapName);
        } catch (IOException e) {
            return unavailable(tapName, e.getMessage());
        } catch (LinkageError e) {
            return unavailable(tapName, "JNA (com.sun.jna) is not available: " + e);
        }
        ThreadPoolExecutor writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "xenj-tap-" + tapName + "-tx");
            t.setDaemon(true);
            return t;
        });
        Port port = bridge.attach("tap:" + tapName, writer, (frame, length) -> {
            try {
                device.write(frame, length);
            } catch (IOException e) {
                throw new IllegalStateException(e.getMessage(), e); // counted as a drop by the port
            }
        });
        device.startReader(port::send, log);
        byBridge.put(bridge.name(), new Link(device, port, writer));
        log.accept("bridge " + bridge.name() + ": host attachment tap " + tapName + " open");
        return "tap " + tapName;
    }

    private String unavailable(String tapName, String reason) {
        String state = "tap " + tapName + " unavailable: " + reason;
        if (reasonsLogged.add(reason)) {
            log.accept(state + " (the bridge still switches between guests)");
        }
        return state;
    }

    /** Closes every TAP (the switch stops). */
    synchronized void closeAll() {
        byBridge.values().forEach(Link::close);
        byBridge.clear();
    }
}
