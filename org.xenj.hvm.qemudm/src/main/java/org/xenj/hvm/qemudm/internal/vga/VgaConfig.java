package org.xenj.hvm.qemudm.internal.vga;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Which display a domain gets from its xl.cfg keys. {@code vga="stdvga"} (also Xen's older
 * {@code stdvga=1}) plugs the standard VGA; {@code vga="none"} none. Without {@code vga=} a domain
 * that asks for a console to show it on ({@code vnc=1}) gets the stdvga and one that does not gets
 * none: xl's own default is a Cirrus card, which xenj does not emulate, and a display nobody can see
 * would only cost every serial-console domain 16 MiB of video memory and a PCI slot. {@code cirrus}
 * and {@code qxl} are logged and served by the stdvga (both are VGA-compatible at the register level).
 */
public final class VgaConfig {

    /** Debian's (package seabios) VGA BIOS for QEMU's stdvga. */
    public static final Path DEFAULT_VGABIOS = Path.of("/usr/share/seabios/vgabios-stdvga.bin");
    /** An option ROM is at most 128 KiB in the 0xC0000-0xDFFFF window. */
    static final int MAX_ROM = 128 << 10;

    private VgaConfig() {
    }

    public static String unquote(String v) {
        return v == null ? null : v.replace("\"", "").replace("'", "").trim();
    }

    static boolean truthy(String v) {
        v = unquote(v);
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true") || v.equalsIgnoreCase("yes"));
    }

    /** Whether the domain gets a stdvga. */
    public static boolean wantsStdVga(Map<String, String> raw, Consumer<String> log) {
        String vga = unquote(raw.get("vga"));
        if (vga == null || vga.isEmpty()) {
            if (truthy(raw.get("stdvga"))) {
                return true;
            }
            return truthy(raw.get("vnc")) || truthy(raw.get("sdl"));
        }
        switch (vga.toLowerCase(java.util.Locale.ROOT)) {
            case "stdvga", "std":
                return true;
            case "none":
                return false;
            default:
                log.accept("qemu-dm: vga=\"" + vga + "\" is not emulated; the domain gets the standard VGA (stdvga)");
                return true;
        }
    }

    /**
     * The VGA BIOS for the expansion ROM, or null (with the reason logged) when the file is absent or
     * not an option ROM: the stdvga works without it (a directly booted kernel or bochs-drm never runs it).
     */
    public static byte[] loadVgaBios(Path path, Consumer<String> log) {
        if (!Files.isRegularFile(path)) {
            log.accept("qemu-dm: no VGA BIOS at " + path + " (Debian package seabios): the stdvga has no option ROM;"
                    + " firmware cannot set text modes through INT 10h, a directly booted kernel does not need it");
            return null;
        }
        try {
            long size = Files.size(path);
            if (size < 512 || size > MAX_ROM) {
                log.accept("qemu-dm: " + path + " is " + size + " bytes, not a VGA BIOS (512 bytes..128 KiB): no option ROM");
                return null;
            }
            byte[] rom = Files.readAllBytes(path);
            if ((rom[0] & 0xff) != 0x55 || (rom[1] & 0xff) != 0xaa) {
                log.accept("qemu-dm: " + path + " lacks the 55 AA option ROM signature: no option ROM");
                return null;
            }
            return rom;
        } catch (IOException e) {
            log.accept("qemu-dm: cannot read " + path + ": " + e.getMessage() + ": no option ROM");
            return null;
        }
    }
}
