package org.xenj.hvm.qemudm.internal.pci;

/** Intel PIIX3 PCI-to-ISA bridge (8086:7000) at 00:01.0, a multi-function device. */
public final class Piix3 extends PciFunction {

    public Piix3() {
        super("PIIX3 ISA bridge", 0x8086, 0x7000, 0x060100, 0x00, 0x80);
        put16(0x04, 0x0007); // I/O, memory, bus master
        put16(0x06, 0x0200); // medium DEVSEL
        allowWrite(0x04, 1, 0x0f);
        allowWrite(0x4c, 1, 0xff); // ISA I/O recovery timer
        config[0x4c] = 0x4d;
        allowWrite(0x4e, 1, 0xff); // X-bus chip select
        config[0x4e] = 0x03;
        allowWrite(0x60, 4, 0x8f); // PIRQA-D route control
        for (int i = 0; i < 4; i++) {
            config[0x60 + i] = (byte) 0x80; // routing disabled
        }
        allowWrite(0x69, 1, 0xfe); // top of memory
        config[0x69] = 0x02;
        allowWrite(0x70, 1, 0xef); // MBIRQ0
        config[0x70] = (byte) 0x80;
        allowWrite(0x76, 2, 0x8f); // MBDMA
        config[0x76] = 0x0c;
        config[0x77] = 0x0c;
        allowWrite(0x80, 1, 0xff); // APIC base relocation
        allowWrite(0x82, 1, 0x0f); // deterministic latency
        allowWrite(0xa0, 8, 0xff); // SMI control
        config[0xa8] = 0x0f;
        sealPowerOn();
    }
}
