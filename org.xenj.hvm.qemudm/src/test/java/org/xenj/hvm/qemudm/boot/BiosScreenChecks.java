package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;

/**
 * What a firmware-booted domain with a stdvga shows on its VNC console, read the way an operator
 * would: SeaBIOS's banner and the boot loader's messages on the VGA BIOS's text screen while the
 * boot loader runs, then the kernel's console on Linux's bochs-drm (fbcon) once the shell is up.
 * The oracles are Debian's vncsnapshot (a real RFB client) and tesseract (OCR); each check that
 * needs a missing tool says SKIPPED with the reason and checks the pixels only. With
 * {@code -Dxenj.screens.dir=DIR} both screens are written there as {@code seabios.png} and
 * {@code linux-console.png} (the pictures in org.xenj.dom0.vnc/docs).
 */
final class BiosScreenChecks implements AutoCloseable {

    /** SeaBIOS's banner as tesseract reads VGA text ("SeabIOS (version 1.16.2..." — it lower-cases the B). */
    static final Pattern SEABIOS = Pattern.compile("(?i)sea.?bios \\(version \\d+\\.\\d+");
    /** "Booting from DVD/CD..." (tesseract has read the V as U). */
    static final Pattern BOOTING = Pattern.compile("Booting from D.D/CD");
    static final String MARKER = "LINUX CONSOLE 4242";

    private final String name;
    private final ScreenOracle screen;
    private final Path work;
    private final Path screens;

    BiosScreenChecks(String name, GuestDisplay display) throws java.io.IOException {
        this.name = name;
        this.screen = new ScreenOracle(display);
        this.work = Files.createTempDirectory("xenj-bios-screen-");
        String dir = System.getProperty("xenj.screens.dir");
        this.screens = dir == null || dir.isBlank() ? null : Path.of(dir).toAbsolutePath();
        System.out.printf("[bios-boot] %s: stdvga with the VGA BIOS, VNC console on 127.0.0.1:%d%n", name, screen.port());
    }

    /**
     * Called as soon as the boot loader's banner is on COM1, before the kernel's console can scroll
     * the firmware's lines off: the VGA BIOS's 80x25 text mode (720x400 with 9-dot cells), and on
     * it SeaBIOS's banner, "Booting from DVD/CD..." and the boot loader's banner.
     */
    String firmwareScreen(String loaderBanner) throws Exception {
        // the real client first: the screen moves on while the loader loads the kernel
        BufferedImage snap = screen.realClientPicture(work.resolve("firmware.jpg"));
        Framebuffer ours = screen.screenshot();
        save(ours, "seabios.png");
        assertEquals(720, ours.width(), name + ": the VGA BIOS's text mode 3 (80 columns of 9 dots)");
        assertEquals(400, ours.height(), name + ": 25 rows of 16 lines");
        int lit = ScreenOracle.lit(ours);
        assertTrue(lit > 1000, name + ": the firmware's text lights the screen: " + lit + " pixels");
        if (snap == null) {
            return skip("the real-client and OCR checks of the firmware screen", lit);
        }
        double diff = ScreenOracle.meanDifference(ours, snap);
        assertTrue(snap.getWidth() == ours.width() && snap.getHeight() == ours.height() && diff < 4.0,
                name + ": vncsnapshot's picture is the screen: " + snap.getWidth() + "x" + snap.getHeight() + ", mean |diff| " + diff);
        String text = screen.read(snap, 3, work);
        if (text == null) {
            return skip("the OCR check of the firmware screen", lit);
        }
        String flat = text.strip().replace('\n', '|');
        System.out.printf("[bios-boot] %s: firmware screen %dx%d, %d lit pixels, vncsnapshot mean |diff| %.3f; tesseract read: %s%n",
                name, ours.width(), ours.height(), lit, diff, flat);
        assertTrue(SEABIOS.matcher(text).find(), name + ": SeaBIOS's banner on the VNC screen: " + flat);
        assertTrue(BOOTING.matcher(text).find(), name + ": SeaBIOS's \"Booting from DVD/CD...\" on the VNC screen: " + flat);
        assertTrue(text.contains(loaderBanner), name + ": the boot loader's banner " + loaderBanner + " on the VNC screen: " + flat);
        return "SeaBIOS banner, Booting from DVD/CD and " + loaderBanner + " read by tesseract from vncsnapshot's picture";
    }

    /**
     * At the shell: Linux's bochs-drm has switched the stdvga to 1024x768 and fbcon draws tty1 on
     * it, the kernel's messages (console=tty0) and a line the test writes there.
     */
    String linuxScreen(DirectBootRunner r) throws Exception {
        // the line goes after the kernel's last message (no clear): the picture shows both
        int at = r.consoleText().length();
        r.type("cat /proc/fb; printf '\\n    " + MARKER + " ON BOCHS DRM\\n' > /dev/tty1; echo tty1-$((6*7))\n");
        assertTrue(r.waitFor("tty1-42", at, 120_000) >= 0, name + ": the shell wrote to tty1:\n" + BiosDiskBootTest.tail(r.consoleText()));
        String fb = r.consoleText().substring(at);
        assertTrue(fb.contains("bochs"), name + ": bochs-drm drives the screen (/proc/fb): " + fb);
        Framebuffer ours = settled();
        save(ours, "linux-console.png");
        assertEquals(1024, ours.width(), name + ": bochs-drm's mode");
        assertEquals(768, ours.height(), name + ": bochs-drm's mode");
        int lit = ScreenOracle.lit(ours);
        BufferedImage snap = screen.realClientPicture(work.resolve("linux.jpg"));
        if (snap == null) {
            return skip("the real-client and OCR checks of the Linux console", lit);
        }
        // the whole screen, scaled twice for the 8x16 font (about 6 s of tesseract)
        String text = screen.read(snap, 2, work);
        if (text == null) {
            return skip("the OCR check of the Linux console", lit);
        }
        String flat = text.strip().replace('\n', '|');
        System.out.printf("[bios-boot] %s: Linux console %dx%d, %d lit pixels; tesseract read: %s%n", name,
                ours.width(), ours.height(), lit, flat);
        assertTrue(text.contains(MARKER), name + ": the line written to tty1 on the VNC screen: " + flat);
        // the kernel's own messages (console=tty0), here fbcon's line about taking the screen
        assertTrue(text.contains("frame buffer device"), name + ": the kernel's messages on the VNC screen: " + flat);
        return "bochs-drm 1024x768, the kernel's fbcon messages and the tty1 line read by tesseract from vncsnapshot's picture";
    }

    /** The screen once two screenshots 1 s apart agree (fbcon's deferred damage has landed). */
    private Framebuffer settled() throws InterruptedException {
        Framebuffer prev = null;
        for (int i = 0; i < 30; i++) {
            Framebuffer now = screen.screenshot();
            if (prev != null && prev.width() == now.width() && java.util.Arrays.equals(prev.pixels(), now.pixels())) {
                return now;
            }
            prev = now;
            Thread.sleep(1000);
        }
        return prev;
    }

    private String skip(String what, int lit) {
        System.out.printf("[bios-boot] %s: SKIPPED %s: %s (pixels checked only: %d lit)%n", name, what, screen.skipped, lit);
        return "pixels only (" + screen.skipped + ")";
    }

    private void save(Framebuffer fb, String file) throws java.io.IOException {
        if (screens != null) {
            ScreenOracle.writePng(fb, screens.resolve(file));
            System.out.printf("[bios-boot] %s: wrote %s%n", name, screens.resolve(file));
        }
    }

    @Override
    public void close() {
        screen.close();
    }
}
