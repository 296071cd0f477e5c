package org.xenj.dom0.toolstack.internal.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.VncConsoles;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;

/** xen:vnc-info and xen:screenshot over a VncConsoles that has domain 1's screen. */
class VncCommandsTest {

    StubHypervisor hv;
    ByteArrayOutputStream bytes;

    final VncConsoles consoles = new VncConsoles() {
        @Override
        public Optional<Endpoint> endpoint(int domid) {
            return domid == 1 ? Optional.of(new Endpoint(1, "127.0.0.1", 5903, 3, true, false, 1, 640, 480, "stdvga")) : Optional.empty();
        }

        @Override
        public Optional<Framebuffer> screenshot(int domid) {
            if (domid != 1) {
                return Optional.empty();
            }
            Framebuffer fb = new Framebuffer(4, 2);
            fb.pixels()[5] = 0x123456;
            return Optional.of(fb);
        }
    };

    @BeforeEach
    void setUp() {
        hv = new StubHypervisor();
        hv.create(DomainConfig.builder("g").type(DomainType.WORKLOAD).memoryMiB(64).build());
        hv.create(DomainConfig.builder("h").type(DomainType.WORKLOAD).memoryMiB(64).build());
        bytes = new ByteArrayOutputStream();
    }

    private <T extends XenCommand> T wire(T c) {
        c.hypervisor = hv;
        c.out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        return c;
    }

    @Test
    void vncInfoSaysWhereToConnect() throws Exception {
        VncInfoCommand c = wire(new VncInfoCommand());
        c.consoles = List.of(consoles);
        c.domain = "g";
        c.execute();
        assertEquals("g: vnc://127.0.0.1:5903 (display :3, stdvga 640x480, password, 1 client)\n",
                bytes.toString(StandardCharsets.UTF_8));
        c.domain = "h";
        assertThrows(IllegalStateException.class, c::execute, "no display");
    }

    @Test
    void screenshotWritesThePixelsAsPng() throws Exception {
        Path png = Files.createTempFile("shot", ".png");
        try {
            ScreenshotCommand c = wire(new ScreenshotCommand());
            c.consoles = List.of(consoles);
            c.domain = "g";
            c.file = png.toString();
            c.execute();
            BufferedImage img = ImageIO.read(png.toFile());
            assertEquals(4, img.getWidth());
            assertEquals(2, img.getHeight());
            assertEquals(0x123456, img.getRGB(1, 1) & 0xffffff);
            assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("4x2 written to"));
            c.consoles = null;
            assertThrows(IllegalStateException.class, c::execute, "without the VNC bundle: a clear error");
        } finally {
            Files.deleteIfExists(png);
        }
    }
}
