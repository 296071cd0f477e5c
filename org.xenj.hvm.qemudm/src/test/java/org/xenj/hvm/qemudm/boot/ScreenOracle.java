package org.xenj.hvm.qemudm.boot;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;

import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.dom0.vnc.internal.VncService;

/**
 * A domain's screen as the operator sees it, with Debian's tools as the oracle: the VNC console
 * (Domain 0's {@link VncService}, the code behind {@code xen:vnc-info} and {@code xen:screenshot}),
 * a picture taken by a real client ({@code vncsnapshot}, RFB 3.3) and {@code tesseract}'s reading
 * of it. A missing tool makes {@link #realClientPicture} or {@link #read} return null with the
 * reason in {@link #skipped}: the caller then says what it did not check instead of passing it.
 */
final class ScreenOracle implements AutoCloseable {

    private final VncService vnc = new VncService();
    private final int domid;
    /** Why the last {@link #realClientPicture} or {@link #read} returned null. */
    String skipped;

    ScreenOracle(GuestDisplay display) {
        this.domid = display.domid();
        vnc.addDisplay(display);
    }

    /** The VNC console's port (5900 + display). */
    int port() {
        return vnc.endpoint(domid).orElseThrow(() -> new IllegalStateException("no VNC console for d" + domid)).port();
    }

    /** The screen as {@code xen:screenshot} writes it. */
    Framebuffer screenshot() {
        return vnc.screenshot(domid).orElseThrow(() -> new IllegalStateException("no display for d" + domid));
    }

    /** Debian's vncsnapshot's picture of the console (JPEG at quality 100), or null when it is not installed. */
    BufferedImage realClientPicture(Path jpg) throws IOException, InterruptedException {
        if (which("vncsnapshot") == null) {
            skipped = "vncsnapshot is not installed (scripts/setup-debian.sh installs it)";
            return null;
        }
        String out = run(120, "vncsnapshot", "-quiet", "-quality", "100", "127.0.0.1:" + (port() - 5900), jpg.toString());
        BufferedImage img = Files.isReadable(jpg) ? ImageIO.read(jpg.toFile()) : null;
        if (img == null) {
            throw new IOException("vncsnapshot wrote no picture: " + out);
        }
        return img;
    }

    /**
     * What tesseract reads in {@code img}, or null when it is not installed. The picture is scaled
     * {@code scale} times and inverted first: its 8- and 9-dot console glyphs are too small for it
     * otherwise, and it reads dark text on light better than the console's light on dark.
     */
    String read(BufferedImage img, int scale, Path work) throws IOException, InterruptedException {
        if (which("tesseract") == null) {
            skipped = "tesseract is not installed (scripts/setup-debian.sh installs tesseract-ocr)";
            return null;
        }
        BufferedImage big = new BufferedImage(img.getWidth() * scale, img.getHeight() * scale, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = big.createGraphics();
        g.drawImage(img, 0, 0, big.getWidth(), big.getHeight(), null);
        g.dispose();
        for (int y = 0; y < big.getHeight(); y++) {
            for (int x = 0; x < big.getWidth(); x++) {
                big.setRGB(x, y, ~big.getRGB(x, y) & 0xffffff);
            }
        }
        Path png = Files.createTempFile(work, "ocr-", ".png");
        ImageIO.write(big, "png", png.toFile());
        return run(120, "tesseract", png.toString(), "stdout");
    }

    /** Mean absolute difference per channel between the server's screenshot and a client's picture. */
    static double meanDifference(Framebuffer ours, BufferedImage theirs) {
        long diff = 0;
        for (int y = 0; y < ours.height(); y++) {
            for (int x = 0; x < ours.width(); x++) {
                int a = ours.pixels()[y * ours.width() + x], b = theirs.getRGB(x, y);
                for (int s = 0; s < 24; s += 8) {
                    diff += Math.abs((a >>> s & 0xff) - (b >>> s & 0xff));
                }
            }
        }
        return diff / (3.0 * ours.width() * ours.height());
    }

    /** Pixels that are not black. */
    static int lit(Framebuffer fb) {
        int n = 0;
        for (int p : fb.pixels()) {
            n += (p & 0xffffff) != 0 ? 1 : 0;
        }
        return n;
    }

    static BufferedImage image(Framebuffer fb) {
        BufferedImage img = new BufferedImage(fb.width(), fb.height(), BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, fb.width(), fb.height(), fb.pixels(), 0, fb.width());
        return img;
    }

    static void writePng(Framebuffer fb, Path png) throws IOException {
        Files.createDirectories(png.toAbsolutePath().getParent());
        ImageIO.write(image(fb), "png", png.toFile());
    }

    static String which(String tool) {
        for (String p : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!p.isEmpty() && Files.isExecutable(Path.of(p, tool))) {
                return Path.of(p, tool).toString();
            }
        }
        return null;
    }

    /** Runs a tool; its stdout. A non-zero exit or a timeout is an IOException with its stderr. */
    static String run(int timeoutS, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).start();
        // both streams drained off this thread, so that a hung tool still meets the timeout below
        CompletableFuture<String> out = drain(p.getInputStream()), err = drain(p.getErrorStream());
        if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish in " + timeoutS + " s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out.join() + err.join());
        }
        return out.join();
    }

    private static CompletableFuture<String> drain(java.io.InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        });
    }

    @Override
    public void close() {
        vnc.deactivate();
    }
}
