package org.xenj.hvm.qemudm.internal.pci;

import org.xenj.hypervisor.spi.pci.PciIdentity;

/**
 * Intel 440FX PCI and memory controller (host bridge, 8086:1237) at 00:00.0. Its PAM registers
 * (0x59-0x5F) control the shadow RAM under the BIOS and option-ROM windows: PAM0 bits 5:4 cover
 * 0xF0000-0xFFFFF, PAM1-PAM6 bits 1:0 and 5:4 each a 16 KiB block from 0xC0000 up (low nibble
 * first). In each field bit 0 is read enable, bit 1 write enable. A write-enable change is passed
 * to {@link ShadowControl} (the platform drops CPU stores to write-protected shadow RAM); reads
 * always see the RAM, which holds the ROM's bytes until the firmware changes them (see the
 * hypervisor's BiosFirmware).
 */
public final class I440fx extends PciFunction {

    /** Receives (base, size, writable) for each PAM block; a direct-boot domain passes a no-op. */
    @FunctionalInterface
    public interface ShadowControl {
        void setWritable(long base, long size, boolean writable);
    }

    static final int PAM0 = 0x59;
    static final int PAM_COUNT = 7;
    private final ShadowControl shadow;

    public I440fx() {
        this((base, size, writable) -> { });
    }

    public I440fx(ShadowControl shadow) {
        super("i440FX host bridge", PciIdentity.of(0x8086, 0x1237, 0x060000, 0x02));
        this.shadow = shadow;
        allowWrite(0x50, 2, 0xff); // PMCCFG, DETURBO
        allowWrite(PAM0, 1, 0x30); // PAM0: only the 0xF0000 field; bits 3:0 reserved
        allowWrite(PAM0 + 1, PAM_COUNT - 1, 0x33); // PAM1-PAM6: two fields each
        allowWrite(0x72, 1, 0x7f); // SMRAM
        config[0x72] = 0x02;
        sealPowerOn();
    }

    /** The blocks of PAM register {@code reg} (0..6): (base, size, field shift) triples. */
    static long[][] blocks(int reg) {
        if (reg == 0) {
            return new long[][] {{0xf0000, 0x10000, 4}};
        }
        long base = 0xc0000 + (reg - 1) * 0x8000L;
        return new long[][] {{base, 0x4000, 0}, {base + 0x4000, 0x4000, 4}};
    }

    @Override
    void written(int offset, int size) {
        applyPam(offset, size);
    }

    private void applyPam(int offset, int size) {
        for (int reg = 0; reg < PAM_COUNT; reg++) {
            int at = PAM0 + reg;
            if (at < offset || at >= offset + size) {
                continue;
            }
            int v = configRead(at, 1);
            for (long[] b : blocks(reg)) {
                shadow.setWritable(b[0], b[1], (v >> b[2] & 0x2) != 0);
            }
        }
    }

    @Override
    public void reset() {
        super.reset();
        applyPam(PAM0, PAM_COUNT);
    }
}
