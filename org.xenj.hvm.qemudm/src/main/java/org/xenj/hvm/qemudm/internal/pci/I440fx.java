package org.xenj.hvm.qemudm.internal.pci;

import org.xenj.hypervisor.spi.pci.PciIdentity;

/** Intel 440FX PCI and memory controller (host bridge, 8086:1237) at 00:00.0. */
public final class I440fx extends PciFunction {

    public I440fx() {
        super("i440FX host bridge", PciIdentity.of(0x8086, 0x1237, 0x060000, 0x02));
        allowWrite(0x50, 2, 0xff); // PMCCFG, DETURBO
        allowWrite(0x59, 7, 0xff); // PAM0-PAM6 (shadow RAM attributes; our low RAM is plain RAM)
        allowWrite(0x72, 1, 0x7f); // SMRAM
        config[0x72] = 0x02;
        sealPowerOn();
    }
}
