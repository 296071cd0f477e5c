package org.xenj.hypervisor.internal.builder;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.spi.DeviceModel;

/**
 * Which device providers serve a domain: every one that supports its config, in the order given
 * (newest registered first), except one claiming an xl.cfg key that an earlier one already
 * serves. A provider that throws from {@code supports} or {@code claims} is left out with a log line.
 */
final class DeviceModelSelection {

    private DeviceModelSelection() {
    }

    static List<DeviceModel> select(List<DeviceModel> candidates, DomainConfig config, Consumer<String> log) {
        List<DeviceModel> chosen = new ArrayList<>();
        Map<String, DeviceModel> owner = new HashMap<>();
        for (DeviceModel m : candidates) {
            Set<String> keys;
            try {
                if (!m.supports(config)) {
                    continue;
                }
                keys = m.claims();
            } catch (RuntimeException e) {
                log.accept("device model " + safeName(m) + " failed to answer, left out: " + e);
                continue;
            }
            DeviceModel clash = keys.stream().map(owner::get).filter(o -> o != null).findFirst().orElse(null);
            if (clash != null) {
                log.accept("device model " + safeName(m) + " claims " + keys + ", but " + safeName(clash)
                        + " already serves some of them: left out");
                continue;
            }
            keys.forEach(k -> owner.put(k, m));
            chosen.add(m);
        }
        return chosen;
    }

    private static String safeName(DeviceModel m) {
        try {
            return m.name();
        } catch (RuntimeException e) {
            return m.getClass().getName();
        }
    }
}
