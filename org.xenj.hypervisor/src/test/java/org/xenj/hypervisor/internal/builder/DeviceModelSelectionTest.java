package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

class DeviceModelSelectionTest {

    private static DeviceModel model(String name, boolean supports, Set<String> claims) {
        return new DeviceModel() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public boolean supports(DomainConfig config) {
                if (name.equals("broken")) {
                    throw new IllegalStateException("boom");
                }
                return supports;
            }

            @Override
            public Set<String> claims() {
                return claims;
            }

            @Override
            public DeviceModelInstance attach(HvmPlatform platform) {
                throw new UnsupportedOperationException();
            }
        };
    }

    @Test
    void everySupportingProviderServesTheDomainAndEachKeyHasOneProvider() {
        DomainConfig cfg = DomainConfig.builder("d").type(DomainType.HVM).build();
        List<String> log = new ArrayList<>();
        List<DeviceModel> chosen = DeviceModelSelection.select(List.of(
                model("qemu-dm-2", true, Set.of("serial", "keyboard")),
                model("nic", true, Set.of("vif")),
                model("qemu-dm-1", true, Set.of("serial", "keyboard")), // older copy: serial is served
                model("other-nic", true, Set.of("vif", "usb")), // vif is served
                model("testdev", true, Set.of()),
                model("pv-only", false, Set.of("disk")),
                model("broken", true, Set.of())), cfg, log::add);
        assertEquals(List.of("qemu-dm-2", "nic", "testdev"), chosen.stream().map(DeviceModel::name).toList());
        assertEquals(3, log.size(), log.toString());
        assertTrue(log.get(0).contains("qemu-dm-1") && log.get(0).contains("qemu-dm-2"), log.get(0));
        assertTrue(log.get(2).contains("broken"), log.get(2));
    }
}
