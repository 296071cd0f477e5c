package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.dom0.vnc.internal.VncService;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;

/**
 * A guest's graphical console over VNC, with real clients as the oracle: the bare PC's stdvga
 * (Linux's bochs-drm) or the PVHVM guest's PV framebuffer (Linux's xen-fbfront, its keys through
 * xen-kbdfront); fbcon draws tty1 on it; a marker written to tty1 is read back by Debian's
 * {@code vncsnapshot} over VNC, compared with the server's own screenshot, and found by Debian's
 * {@code tesseract} OCR; keystrokes sent over RFB reach a shell on tty1.
 */
final class VgaConsoleChecks {

    static final String MARKER = "VNCMARK 4242";

    private final GuestShell pc;
    private final java.util.function.Supplier<GuestDisplay> displays;
    private final int domid;
    private final Path tmp;
    /** What /proc/fb names the guest's framebuffer driver, and the names its keyboard has in /proc/bus/input/devices. */
    private final String fbDriver;
    private final java.util.List<String> keyboards;
    private final String grep;

    VgaConsoleChecks(GuestShell pc, QemuDeviceModel qemuDm, int domid, Path tmp) {
        this(pc, () -> qemuDm.display(domid), domid, tmp, "bochs", java.util.List.of("AT Translated Set 2 keyboard", "AT Raw Set 2 keyboard"),
                "bochs\\|fb0");
    }

    /** {@code grep}: a basic regular expression for the dmesg lines worth printing. */
    VgaConsoleChecks(GuestShell g, java.util.function.Supplier<GuestDisplay> displays, int domid, Path tmp, String fbDriver,
            java.util.List<String> keyboards, String grep) {
        this.pc = g;
        this.displays = displays;
        this.domid = domid;
        this.tmp = tmp;
        this.fbDriver = fbDriver;
        this.keyboards = keyboards;
        this.grep = grep;
    }

    Object consoleOverVnc() throws Exception {
        String fb = pc.run("cat /proc/fb", 60);
        String lines = pc.run("dmesg | grep -i -m8 '" + grep + "'", 60);
        System.out.println("[guest-devices] " + pc.name() + ": /proc/fb: " + fb.strip() + "; dmesg: " + lines.strip().replace('\n', '|'));
        assertTrue(fb.contains(fbDriver), fbDriver + " drives the screen (/proc/fb): " + fb);
        GuestDisplay display = displays.get();
        assertNotNull(display, pc.name() + " has a display");
        VncService vnc = new VncService();
        vnc.addDisplay(display);
        try {
            var endpoint = vnc.endpoint(domid).orElseThrow();
            assertTrue(endpoint.port() >= 5900, "VNC listens: " + endpoint);
            System.out.println("[guest-devices] " + pc.name() + ": VNC on " + endpoint.host() + ":" + endpoint.port());
            pc.run("printf '\\033[2J\\033[H\\n\\n    " + MARKER + " HELLO FROM TTY1\\n\\n' > /dev/tty1; echo marked", 60);
            Framebuffer shot = settled(vnc);
            int lit = 0;
            for (int p : shot.pixels()) {
                lit += (p & 0xffffff) != 0 ? 1 : 0;
            }
            System.out.printf("[guest-devices] " + pc.name() + ": screen %dx%d, %d lit pixels%n", shot.width(), shot.height(), lit);
            assertTrue(lit > 200, "the marker lights pixels on the screen");
            // the marker is the third text row (two newlines after the clear): with fbcon's 8x16 font, pixels 32..47
            int band = 0;
            for (int y = 32; y < 48 && y < shot.height(); y++) {
                for (int x = 0; x < shot.width(); x++) {
                    band += (shot.pixels()[y * shot.width() + x] & 0xffffff) != 0 ? 1 : 0;
                }
            }
            System.out.printf("[guest-devices] %s: %d of them on the marker's text row (y 32..47)%n", pc.name(), band);
            assertTrue(band > 200, "the marker's glyphs are on the row the console wrote: " + band + " lit pixels there");
            Path ours = tmp.resolve(pc.name() + "-screenshot.png");
            ImageIO.write(image(shot), "png", ours.toFile());
            realClientSnapshot(endpoint.port(), shot);
        } finally {
            vnc.deactivate();
        }
        return null;
    }

    /** Keys typed over RFB reach a shell on tty1 (skipped, with the reason, when the guest has no PS/2 keyboard). */
    Object keysOverVnc() throws Exception {
        VncService vnc = new VncService();
        vnc.addDisplay(displays.get());
        try {
            keystrokesReachTheShell(vnc.endpoint(domid).orElseThrow().port());
        } finally {
            vnc.deactivate();
        }
        return null;
    }

    /** The screen once two screenshots 1 s apart agree (fbcon's deferred damage has landed). */
    private Framebuffer settled(VncService vnc) throws InterruptedException {
        Framebuffer prev = null;
        for (int i = 0; i < 60; i++) {
            Framebuffer now = vnc.screenshot(domid).orElseThrow();
            if (prev != null && prev.width() == now.width() && java.util.Arrays.equals(prev.pixels(), now.pixels())) {
                return now;
            }
            prev = now;
            Thread.sleep(1000);
        }
        return prev;
    }

    private static BufferedImage image(Framebuffer fb) {
        BufferedImage img = new BufferedImage(fb.width(), fb.height(), BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, fb.width(), fb.height(), fb.pixels(), 0, fb.width());
        return img;
    }

    /** Debian's vncsnapshot (RFB 3.3, JPEG output) against the console; its picture matches ours, OCR finds the marker. */
    private void realClientSnapshot(int port, Framebuffer ours) throws Exception {
        if (HostTools.which("vncsnapshot") == null) {
            System.out.println("[guest-devices] " + pc.name() + ": SKIPPED the vncsnapshot oracle: vncsnapshot is not installed (scripts/setup-debian.sh installs it)");
            return;
        }
        Path jpg = tmp.resolve(pc.name() + "-vncsnapshot.jpg");
        HostTools.run("timeout", "120", "vncsnapshot", "-quiet", "-quality", "100", "127.0.0.1:" + (port - 5900), jpg.toString());
        BufferedImage snap = ImageIO.read(jpg.toFile());
        assertNotNull(snap, "vncsnapshot wrote a JPEG");
        assertEquals(ours.width(), snap.getWidth());
        assertEquals(ours.height(), snap.getHeight());
        long diff = 0, maxDiff = 0;
        for (int y = 0; y < ours.height(); y++) {
            for (int x = 0; x < ours.width(); x++) {
                int a = ours.pixels()[y * ours.width() + x], b = snap.getRGB(x, y);
                for (int s = 0; s < 24; s += 8) {
                    int d = Math.abs((a >>> s & 0xff) - (b >>> s & 0xff));
                    diff += d;
                    maxDiff = Math.max(maxDiff, d);
                }
            }
        }
        double mean = diff / (3.0 * ours.width() * ours.height());
        System.out.printf("[guest-devices] " + pc.name() + ": vncsnapshot %dx%d vs xen screenshot: mean |diff| %.3f per channel (JPEG), max %d%n",
                snap.getWidth(), snap.getHeight(), mean, maxDiff);
        assertTrue(mean < 4.0, "vncsnapshot's picture is the screen (JPEG error only): mean " + mean);
        if (HostTools.which("tesseract") == null) {
            System.out.println("[guest-devices] " + pc.name() + ": SKIPPED the OCR oracle: tesseract is not installed (scripts/setup-debian.sh installs tesseract-ocr)");
            return;
        }
        // OCR reads larger glyphs better: the top of the screen, scaled 3x
        int w = snap.getWidth(), h = Math.min(snap.getHeight(), 96);
        BufferedImage top = new BufferedImage(w * 3, h * 3, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = top.createGraphics();
        g.drawImage(snap.getSubimage(0, 0, w, h), 0, 0, w * 3, h * 3, null);
        g.dispose();
        Path png = tmp.resolve(pc.name() + "-ocr.png");
        ImageIO.write(top, "png", png.toFile());
        String text = HostTools.run("tesseract", png.toString(), "stdout");
        System.out.println("[guest-devices] " + pc.name() + ": tesseract read: " + text.strip().replace('\n', '|'));
        // the digits and words, not the first letter: tesseract read fbcon's V as U once ("UNCMARK 4242 ...")
        assertTrue(text.contains("4242 HELLO FROM TTY1"), "OCR of vncsnapshot's picture finds the marker line: " + text);
    }

    /** A shell on tty1, keys typed over RFB (KeyEvent messages), the result read on the serial console. */
    private void keystrokesReachTheShell(int port) throws Exception {
        String input = pc.run("dmesg | grep -i 'i8042\\|serio\\|atkbd\\|xen.kbd'; grep -h '^N:' /proc/bus/input/devices", 60);
        System.out.println("[guest-devices] " + pc.name() + ": input devices: " + input.strip().replace('\n', '|'));
        if (keyboards.stream().noneMatch(input::contains)) {
            // said, not passed: the keyboard path is then untested end to end (Ps2InputTest covers the 8042 side)
            System.out.println("[guest-devices] " + pc.name() + ": SKIPPED keys over VNC: the guest found no keyboard of " + keyboards);
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "the guest has no keyboard of " + keyboards + ": " + input);
        }
        pc.run("rm -f /tmp/vk; setsid sh -c 'exec sh </dev/tty1 >/dev/tty1 2>&1' & sleep 1; echo started", 60);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            in.readFully(new byte[12]);
            out.write("RFB 003.008\n".getBytes(StandardCharsets.US_ASCII));
            in.readFully(new byte[in.readUnsignedByte()]);
            out.write(1);
            assertEquals(0, in.readInt(), "security result");
            out.write(1);
            in.readFully(new byte[20]);
            in.readFully(new byte[in.readInt()]);
            for (char c : "echo vnc-keys-ok > /tmp/vk\r".toCharArray()) {
                int keysym = c == '\r' ? 0xff0d : c;
                for (boolean down : new boolean[] { true, false }) {
                    out.write(4);
                    out.write(down ? 1 : 0);
                    out.writeShort(0);
                    out.writeInt(keysym);
                }
                out.flush();
                Thread.sleep(30);
            }
        }
        String got = "";
        for (int i = 0; i < 30 && !got.contains("vnc-keys-ok"); i++) {
            Thread.sleep(1000);
            got = pc.run("cat /tmp/vk 2>/dev/null; echo .", 30);
        }
        System.out.println("[guest-devices] " + pc.name() + ": typed over VNC, the tty1 shell wrote: " + got.strip().replace('\n', ' '));
        assertTrue(got.contains("vnc-keys-ok"), "keys typed over VNC reached the shell on tty1: " + got);
    }
}
