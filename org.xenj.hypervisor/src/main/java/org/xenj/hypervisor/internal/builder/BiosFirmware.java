package org.xenj.hypervisor.internal.builder;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.mem.HvmRamLayout;
import org.xenj.hypervisor.spi.GuestMemory;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.MmioHandler;

/**
 * A PC BIOS image (Debian's SeaBIOS {@code bios.bin} unless {@code bios_path_override=} names
 * another) started at the reset vector, as a PC's flash is: the whole image is a read-only ROM
 * ending at 4 GiB, and its last 128 KiB also appear at 0xE0000-0xFFFFF, the "isa-bios" window the
 * CPU's first far jump lands in.
 *
 * <p>The low window is modelled as the shadow RAM behind it: the builder fills 0xE0000-0xFFFFF with
 * the image's tail and write-protects 0xC0000-0xFFFFF for the CPU, which is what the i440FX's
 * power-on PAM setting (all zero: reads and writes go to the PCI side) shows the guest — the ROM's
 * bytes, stores ignored. When the firmware enables shadow RAM (PAM write enable, through
 * {@link HvmPlatform#setShadowRamWritable}) the RAM already holds the ROM's bytes, and SeaBIOS copies
 * them from the high ROM anyway. Differences from a real chipset: with read enable clear and write
 * enable set (a combination SeaBIOS never programs) reads return the RAM, not the ROM; and 0xC0000-
 * 0xDFFFF read as the zeros QEMU's empty "pc.rom" holds.
 *
 * <p>The CPU starts in its reset state (real mode, CS selector 0xF000 with base 0xFFFF0000, EIP
 * 0xFFF0: linear 0xFFFFFFF0, the image's last 16 bytes). A reboot builds the domain again, so the
 * shadow copy and the protection are as at power-on.
 */
public final class BiosFirmware {

    /** xl.cfg key: another firmware image instead of SeaBIOS. */
    public static final String BIOS_PATH_OVERRIDE = "bios_path_override";
    /**
     * Debian's SeaBIOS build for the i440FX with at most 128 KiB: the whole image fits the legacy
     * window, so the high ROM and the shadow copy hold the same bytes. ({@code bios-256k.bin} is the
     * build QEMU ≥ 1.7 uses, with more drivers; only its last 128 KiB would be in the window and the
     * rest reachable only at 0xFFFC0000, which SeaBIOS handles too — it relocates its 32-bit code
     * from the high ROM.)
     */
    public static final String DEFAULT_BIOS = "/usr/share/seabios/bios.bin";
    /** The legacy BIOS window the image's tail is aliased to. */
    static final long ISA_BIOS_SIZE = 0x20000;
    static final long FOUR_GIB = 1L << 32;
    /** Largest image: it must stay above the local APIC and IOAPIC pages (0xFEC00000-0xFEE00FFF). */
    static final int MAX_SIZE = 16 << 20;

    private final byte[] image;
    private final String file;

    private BiosFirmware(byte[] image, String file) {
        this.image = image;
        this.file = file;
    }

    /** Checks an image's size as QEMU does for {@code -bios}: whole 64 KiB blocks, at most 16 MiB. */
    public static BiosFirmware of(byte[] image, String file) {
        if (image.length == 0 || image.length % 0x10000 != 0) {
            throw new HypervisorException("BIOS image " + file + " is " + image.length
                    + " bytes; a PC firmware image is a whole number of 64 KiB blocks");
        }
        if (image.length > MAX_SIZE) {
            throw new HypervisorException("BIOS image " + file + " is " + (image.length >> 20)
                    + " MiB; at most 16 MiB fit below 4 GiB above the APIC pages");
        }
        return new BiosFirmware(image.clone(), file);
    }

    public String file() {
        return file;
    }

    public int size() {
        return image.length;
    }

    /** Guest-physical address of the image's first byte (the image ends at 4 GiB). */
    public long romBase() {
        return FOUR_GIB - image.length;
    }

    /** Bytes of the image aliased below 1 MiB (its tail). */
    long aliasSize() {
        return Math.min(image.length, ISA_BIOS_SIZE);
    }

    /**
     * Fills the shadow RAM under the BIOS window with the image's tail and write-protects the
     * whole 0xC0000-0xFFFFF window for the CPU (PAM power-on state). Before the devices attach.
     */
    public void loadShadow(GuestMemory memory, HvmPlatform platform) {
        long alias = aliasSize();
        long at = HvmRamLayout.ROM_WINDOWS_END - alias;
        if (!memory.isRam(HvmRamLayout.ROM_WINDOWS, (int) (HvmRamLayout.ROM_WINDOWS_END - HvmRamLayout.ROM_WINDOWS))) {
            throw new HypervisorException("BIOS boot needs at least 1 MiB of RAM (the shadow RAM at 0xc0000-0xfffff)");
        }
        memory.write(at, image, (int) (image.length - alias), (int) alias);
        platform.setShadowRamWritable(HvmRamLayout.ROM_WINDOWS, HvmRamLayout.ROM_WINDOWS_END - HvmRamLayout.ROM_WINDOWS,
                false);
    }

    /** Maps the image read-only at the top of 4 GiB. */
    public void mapRom(HvmPlatform platform) {
        platform.mapMmio(romBase(), image.length, new Rom(image));
    }

    /** The flash: reads little-endian from the image, writes ignored (no flash programming interface). */
    static final class Rom implements MmioHandler {
        private final byte[] bytes;

        Rom(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public long mmioRead(long offset, int size) {
            long v = 0;
            for (int i = 0; i < size; i++) {
                long at = offset + i;
                int b = at >= 0 && at < bytes.length ? bytes[(int) at] & 0xff : 0xff;
                v |= (long) b << (8 * i);
            }
            return v;
        }

        @Override
        public void mmioWrite(long offset, int size, long value) {
            // read-only
        }
    }
}
