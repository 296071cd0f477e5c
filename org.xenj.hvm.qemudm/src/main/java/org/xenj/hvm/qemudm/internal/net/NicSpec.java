package org.xenj.hvm.qemudm.internal.net;

import org.xenj.dom0.vswitch.api.VifSpec;

/**
 * What qemu-dm takes from one entry of xl's {@code vif = [...]} (xl-network-configuration(5)):
 * {@code model} (rtl8139 — the default, as in xl — or ne2k_pci), {@code mac}, {@code bridge}
 * ({@code xenbr0} by default) and {@code type} ({@code vif} asks for the PV device alone: no
 * emulated NIC). Without {@code mac} the address is under Xen's OUI 00:16:3e with the last three
 * bytes of SHA-256("domain-name/devid"). The entry is parsed by the switch's {@link VifSpec}, as
 * netback parses it, so the emulated NIC and the PV vif of one entry share their address as in Xen.
 *
 * @param model {@code rtl8139}, {@code ne2k_pci}, or whatever else the entry named (not emulated here)
 */
public record NicSpec(int devid, String model, byte[] mac, String bridge, boolean emulated) {

    public static final String RTL8139 = VifSpec.RTL8139, NE2K_PCI = VifSpec.NE2K_PCI, DEFAULT_BRIDGE = "xenbr0";

    public NicSpec {
        mac = mac.clone();
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    /** Parses {@code spec} (entry {@code devid} of domain {@code domainName}); IllegalArgumentException says what is wrong. */
    public static NicSpec parse(String spec, String domainName, int devid) {
        VifSpec v = VifSpec.parse(spec, domainName, devid); // the switch's parser: netback reads the same entry alike
        return new NicSpec(devid, v.model(), v.macBytes(), v.bridge(), v.emulated());
    }
}
