package org.xenj.hvm.qemudm.internal.pci;

import java.util.function.BiConsumer;

import org.xenj.hypervisor.spi.pci.PciIdentity;

/**
 * Intel PIIX3 PCI-to-ISA bridge (8086:7000) at 00:01.0. Its PIRQ route registers 0x60-0x63 steer
 * the four PCI interrupt links to ISA IRQs: every write is passed to the platform, which does the
 * routing (bit 7 set = disabled).
 */
public final class Piix3 extends PciFunction {

    private final BiConsumer<Integer, Integer> linkRoute;

    /** @param linkRoute (link 0..3, ISA IRQ or -1) on every PIRQ route change */
    public Piix3(BiConsumer<Integer, Integer> linkRoute) {
        super("PIIX3 ISA bridge", PciIdentity.of(0x8086, 0x7000, 0x060100, 0x00));
        this.linkRoute = linkRoute;
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

    @Override
    void written(int offset, int size) {
        for (int link = 0; link < 4; link++) {
            if (offset <= 0x60 + link && 0x60 + link < offset + size) {
                int v = configRead(0x60 + link, 1);
                linkRoute.accept(link, (v & 0x80) != 0 ? -1 : v & 0x0f);
            }
        }
    }

    @Override
    public void reset() {
        super.reset();
        for (int link = 0; link < 4; link++) {
            linkRoute.accept(link, -1);
        }
    }
}
