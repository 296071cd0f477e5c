package org.xenj.dom0.vswitch.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.VirtualSwitch;

/**
 * The switch service. Configuration (PID {@value #PID}, optional): {@code ageing.seconds}
 * (default 300) and, per bridge, {@code bridge.<name>.tap = <tap>} to join a host TAP device to
 * that bridge (created at activation). {@code xenbr0} always exists.
 */
@Component(service = VirtualSwitch.class, configurationPid = SwitchService.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
public final class SwitchService implements VirtualSwitch {

    public static final String PID = "org.xenj.dom0.vswitch";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,15}");
    private static final System.Logger LOG = System.getLogger(SwitchService.class.getName());

    private final Map<String, LearningBridge> bridges = new TreeMap<>();
    private final LongSupplier clock;
    private final Consumer<String> log;
    private final TapAttachments taps;
    private long ageingMillis = 300_000;

    /** As DS creates it: host clock, messages to the platform log. */
    public SwitchService() {
        this(System::nanoTime, m -> LOG.log(System.Logger.Level.INFO, m), 300_000);
    }

    /** For tests and in-process use: a clock in nanoseconds, where messages go, the ageing time. */
    public SwitchService(LongSupplier clockNanos, Consumer<String> log, long ageingMillis) {
        this.clock = clockNanos;
        this.log = log;
        this.ageingMillis = ageingMillis;
        this.taps = new TapAttachments(log);
    }

    @Activate
    void activate(Map<String, Object> config) {
        Object ageing = config.get("ageing.seconds");
        if (ageing != null) {
            try {
                ageingMillis = Math.max(1, Long.parseLong(ageing.toString().trim())) * 1000;
            } catch (NumberFormatException e) {
                log.accept("ageing.seconds '" + ageing + "' is not a number; keeping " + ageingMillis / 1000);
            }
        }
        bridge(DEFAULT_BRIDGE);
        config.forEach((key, value) -> {
            if (key.startsWith("bridge.") && key.endsWith(".tap")) {
                String bridge = key.substring("bridge.".length(), key.length() - ".tap".length());
                try {
                    log.accept("bridge " + bridge + ": " + bridge(bridge).attachTap(String.valueOf(value).trim()));
                } catch (IllegalArgumentException e) {
                    log.accept("configuration " + key + ": " + e.getMessage());
                }
            }
        });
    }

    @Deactivate
    public void close() {
        taps.closeAll();
        synchronized (this) {
            bridges.values().forEach(LearningBridge::close);
            bridges.clear();
        }
    }

    @Override
    public synchronized Bridge bridge(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("bridge name '" + name + "': 1-15 of letters, digits, '.', '-', '_'");
        }
        return bridges.computeIfAbsent(name, n -> new LearningBridge(n, ageingMillis, clock, log, taps));
    }

    @Override
    public synchronized Optional<Bridge> find(String name) {
        return Optional.ofNullable(bridges.get(name));
    }

    @Override
    public synchronized List<Bridge> bridges() {
        return new ArrayList<>(bridges.values());
    }
}
