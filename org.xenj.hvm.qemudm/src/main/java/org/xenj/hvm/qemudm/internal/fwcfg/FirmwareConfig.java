package org.xenj.hvm.qemudm.internal.fwcfg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.spi.GuestMemory;

/**
 * What a firmware-booted domain's fw_cfg holds, from its xl.cfg and RAM, in the items SeaBIOS reads:
 * <ul>
 * <li>signature "QEMU", ID 1 (traditional interface), a zero UUID, RAM size, {@code nb_cpus} and
 * {@code max_cpus} = {@code vcpus}, NOGRAPHIC 0;</li>
 * <li>{@code etc/e820}: one RAM entry from 0 to the top of RAM below 4 GiB, as QEMU gives it
 * (SeaBIOS reserves the EBDA and its own area itself);</li>
 * <li>{@code bootorder}: from xl's {@code boot=} ("c" hard disk, "d" CD-ROM, default "cd"), one
 * OpenFirmware path per IDE drive of that kind ({@code /pci@i0cf8/ide@1,1/drive@C/disk@U}, channel and
 * unit), in the order the letters give; drives not named follow in SeaBIOS's default order;</li>
 * <li>{@code etc/boot-fail-wait}: -1 (QEMU's default: after "No bootable device." wait, no reboot);</li>
 * <li>{@code etc/sercon-port} = 0x3F8: SeaBIOS's serial console, so its screen output also reaches
 * COM1 (the domain's console);</li>
 * <li>key 0x0E (show boot menu): {@code boot_menu=1} (a xenj key; QEMU's {@code -boot menu=on})
 * shows "Press ESC for boot menu." — off by default, as in QEMU.</li>
 * </ul>
 * No ACPI or SMBIOS tables and no {@code etc/table-loader}: SeaBIOS then builds its own SMBIOS, MP
 * and PIR tables and no ACPI tables (its built-in ACPI tables are gone since 1.16).
 */
public final class FirmwareConfig {

    /** A drive on the PIIX3 IDE function (00:01.1): channel 0/1, unit 0/1, CD-ROM or hard disk. */
    public record IdeDrive(int channel, int unit, boolean cdrom) {
        String path() {
            return String.format("/pci@i0cf8/ide@1,1/drive@%x/disk@%x", channel, unit);
        }
    }

    static final int SERIAL_PORT = 0x3f8;
    public static final String BOOT_MENU_KEY = "boot_menu";

    private FirmwareConfig() {
    }

    public static FwCfgItems forDomain(Map<String, String> raw, int vcpus, GuestMemory memory, List<IdeDrive> drives) {
        long ramTop = ramTopBelow4G(memory);
        FwCfgItems.Builder b = FwCfgItems.builder()
                .bytes(FwCfgItems.SIGNATURE, "QEMU".getBytes(StandardCharsets.US_ASCII))
                .u32(FwCfgItems.ID, 1)
                .bytes(FwCfgItems.UUID, new byte[16])
                .u64(FwCfgItems.RAM_SIZE, ramTop)
                .u16(FwCfgItems.NOGRAPHIC, 0)
                .u16(FwCfgItems.NB_CPUS, vcpus)
                .u16(FwCfgItems.MAX_CPUS, vcpus)
                .u16(FwCfgItems.BOOT_MENU, isOn(raw.get(BOOT_MENU_KEY)) ? 1 : 0);
        b.file("etc/e820", e820(ramTop));
        b.file("bootorder", bootOrder(raw.get("boot"), drives).getBytes(StandardCharsets.US_ASCII));
        b.file("etc/boot-fail-wait", FwCfgItems.le(-1, 4));
        b.file("etc/sercon-port", FwCfgItems.le(SERIAL_PORT, 2));
        return b.build();
    }

    /** 1/true/on, quoted or not (a DomainConfig built by hand may keep the quotes). */
    static boolean isOn(String v) {
        String t = v == null ? "" : v.replace("\"", "").replace("'", "").trim();
        return t.equals("1") || t.equalsIgnoreCase("true") || t.equalsIgnoreCase("on");
    }

    /** One e820 entry (address u64, length u64, type u32, little-endian): RAM 0..ramTop. */
    static byte[] e820(long ramTop) {
        return ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putLong(ramTop).putInt(1).array();
    }

    /**
     * SeaBIOS's bootorder file: newline-separated device paths, NUL-terminated as QEMU writes it.
     * Letters other than c and d (a floppy, n network) have no device here and are skipped.
     */
    static String bootOrder(String boot, List<IdeDrive> drives) {
        String letters = boot == null ? "" : boot.replace("\"", "").replace("'", "").trim();
        String order = letters.isEmpty() ? "cd" : letters.toLowerCase(java.util.Locale.ROOT);
        List<String> paths = new ArrayList<>();
        for (char c : order.toCharArray()) {
            if (c != 'c' && c != 'd') {
                continue;
            }
            for (IdeDrive d : drives) {
                if (d.cdrom() == (c == 'd') && !paths.contains(d.path())) {
                    paths.add(d.path());
                }
            }
        }
        return String.join("\n", paths) + "\0";
    }

    /** The end of RAM that starts at 1 MiB (RAM is contiguous there), or 640 KiB for smaller domains. */
    static long ramTopBelow4G(GuestMemory memory) {
        if (!memory.isRam(0x100000, 1)) {
            return 0xa0000;
        }
        long lo = 0x100, hi = 0x100000; // pages: lo is RAM, hi is not (4 GiB)
        while (hi - lo > 1) {
            long mid = (lo + hi) >>> 1;
            if (memory.isRam(mid << 12, 1)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + 1) << 12;
    }
}
