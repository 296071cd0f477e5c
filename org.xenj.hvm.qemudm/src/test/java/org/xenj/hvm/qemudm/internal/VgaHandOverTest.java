package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.hvm.qemudm.internal.vga.StdVga;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.DeviceModelInstance;

/** A domain's stdvga across a qemu-dm hand-over: the next instance shows the same screen. */
class VgaHandOverTest {

    @Test
    void vncDomainsGetAStdvgaAndKeepTheirScreenAcrossAHandOver() throws Exception {
        DomainConfig cfg = DomainConfig.builder("screen").type(DomainType.HVM).raw(Map.of("vnc", "1")).build();
        NicHandOverTest.Platform p = new NicHandOverTest.Platform(cfg);
        QemuDeviceModel model = new QemuDeviceModel(null, null);
        DeviceModelInstance first = model.attach(p);
        StdVga vga = (StdVga) p.plugged.stream().filter(d -> d instanceof StdVga).findFirst().orElseThrow();
        GuestDisplay display = model.display(7);
        assertNotNull(display);
        assertEquals("1", display.settings().get("vnc"));
        // a 32 bpp mode with a pixel, as bochs-drm sets it
        vga.vbePorts().ioWrite(0, 2, 1);
        vga.vbePorts().ioWrite(1, 2, 640);
        vga.vbePorts().ioWrite(0, 2, 2);
        vga.vbePorts().ioWrite(1, 2, 480);
        vga.vbePorts().ioWrite(0, 2, 3);
        vga.vbePorts().ioWrite(1, 2, 32);
        vga.vbePorts().ioWrite(0, 2, 4);
        vga.vbePorts().ioWrite(1, 2, 0x41);
        vga.bars().get(0).mmio().mmioWrite(4 * 641, 4, 0x00c0ffee);
        Framebuffer before = new Framebuffer(1, 1);
        display.source().refresh(before, true);

        byte[] record = first.saveState();
        first.detach();
        assertNull(model.display(7), "the old instance's display is gone");
        p.plugged.clear();
        model.attach(p, record);
        GuestDisplay after = model.display(7);
        Framebuffer fb = new Framebuffer(1, 1);
        after.source().refresh(fb, true);
        assertEquals(640, fb.width());
        assertEquals(0xc0ffee, fb.pixels()[641]);
        assertArrayEquals(before.pixels(), fb.pixels());
        assertFalse(p.log.stream().anyMatch(l -> l.contains("changed across")), p.log.toString());
    }

    @Test
    void serialOnlyDomainsGetNoVgaAndVgaNoneMeansNone() {
        for (Map<String, String> raw : java.util.List.of(Map.<String, String>of(), Map.of("vnc", "1", "vga", "\"none\""))) {
            NicHandOverTest.Platform p = new NicHandOverTest.Platform(DomainConfig.builder("s").type(DomainType.HVM).raw(raw).build());
            QemuDeviceModel model = new QemuDeviceModel(null, null);
            model.attach(p).detach();
            assertTrue(p.plugged.stream().noneMatch(d -> d instanceof StdVga), raw + ": " + p.plugged);
        }
    }
}
