package org.xenj.dom0.blkback.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.dom0.blkback.internal.TestFrontend.assertOk;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.spi.backend.BackendHotplug;

/**
 * xl block-attach into a domain created without disks (blkback asks the hypervisor's
 * {@link BackendHotplug} to serve it, then publishes; a frontend connects and does I/O), and
 * cd-insert/cd-eject on a {@code device-type=cdrom} vbd (the backend's {@code params}, as libxl).
 */
class BlkbackHotplugAndMediaTest {

    static final int XVDB = 51728, HDC = 5632;
    @TempDir
    Path tmp;
    final BlockImagesService images = new BlockImagesService();
    FakeXen xen;
    BlkbackService blkback;

    @AfterEach
    void tearDown() throws Exception {
        if (xen != null) {
            xen.shutdown();
        }
        images.close();
    }

    Path image(String name, long bytes) throws Exception {
        Path p = tmp.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    /** The hypervisor's side as BackendHost does it: the backend's attach on the domain's executor, waited for. */
    BackendHotplug hypervisor(List<String> asked) {
        return (domid, kind) -> {
            asked.add(domid + " " + kind);
            if (domid != 5) {
                throw new IllegalArgumentException("d" + domid + " is not running");
            }
            CompletableFuture<Void> done = new CompletableFuture<>();
            xen.executor().execute(() -> {
                blkback.attach(xen);
                done.complete(null);
            });
            try {
                done.get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    @Test
    void blockAttachIntoADomainWithoutDisksFindsBlkbackAndAFrontendConnects() throws Exception {
        xen = new FakeXen(5, DomainConfig.builder("empty").build());
        blkback = new BlkbackService(images);
        Path b = image("b.raw", 1 << 20);
        assertThrows(IllegalStateException.class, () -> blkback.attach(5, "format=raw, vdev=xvdb, access=rw, target=" + b),
                "without the hypervisor's hot-plug side nothing serves a diskless domain");
        assertEquals(List.of(), blkback.list(5));

        List<String> asked = new ArrayList<>();
        blkback.setBackendHotplug(hypervisor(asked));
        VirtualDisk v = blkback.attach(5, "format=raw, vdev=xvdb, access=rw, target=" + b);
        assertEquals(List.of("5 vbd"), asked, "blkback asked for its kind");
        assertEquals(XVDB, v.devid());
        assertEquals("/local/domain/0/backend/vbd/5/" + XVDB, xen.read("/local/domain/5/device/vbd/" + XVDB + "/backend"));
        assertEquals("1", xen.read("/local/domain/5/device/vbd/" + XVDB + "/state"), "the frontend's directory, Initialising");

        TestFrontend f = new TestFrontend(xen, XVDB, BlkifAbi.X86_32, 0).connect();
        BlkbackTest.waitState(f, "4");
        assertEquals(Integer.toString((1 << 20) / 512), xen.read(f.be + "/sectors"));
        int page = f.grantPage(false);
        assertOk(f.one(f.rw(Blkif.OP_WRITE, 1, 16, new int[][] {{page, 0, 7}}), Blkif.OP_WRITE));
        assertOk(f.one(f.rw(Blkif.OP_READ, 2, 16, new int[][] {{page, 0, 7}}), Blkif.OP_READ));

        // a second attach does not ask again: blkback serves the domain now
        blkback.attach(5, "format=raw, vdev=xvdc, access=ro, target=" + image("c.raw", 1 << 20));
        assertEquals(1, asked.size());
        assertEquals(List.of("xvdb", "xvdc"), blkback.list(5).stream().map(VirtualDisk::vdev).toList());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> blkback.attach(6, "format=raw, vdev=xvdb, target=" + b));
        assertTrue(e.getMessage().contains("d6 is not running"), e.getMessage());
    }

    @Test
    void cdInsertAndEjectRewriteParamsAsLibxlDoes() throws Exception {
        Path first = image("first.iso", 40 * 2048);
        Path second = image("second.iso", 64 * 2048);
        Path disk = image("a.raw", 1 << 20);
        xen = new FakeXen(5, DomainConfig.builder("hvm").disks(List.of("format=raw, vdev=hda, access=rw, target=" + disk,
                "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=" + first)).build());
        blkback = new BlkbackService(images);
        xen.executor().execute(() -> blkback.attach(xen));
        xen.sync();
        String be = "/local/domain/0/backend/vbd/5/" + HDC;
        assertEquals(first.toString(), xen.read(be + "/params"));
        assertEquals("cdrom", xen.read(be + "/device-type"));
        assertTrue(blkback.hasDrive(5, "hdc"));
        assertFalse(blkback.hasDrive(5, "hda"), "a hard disk is no CD-ROM drive");
        assertFalse(blkback.hasDrive(5, "hdd"));
        assertFalse(blkback.hasDrive(6, "hdc"));

        blkback.changeMedium(5, DiskSpec.parse("vdev=hdc, access=ro, devtype=cdrom, target="));
        assertEquals("", xen.read(be + "/params"), "ejected");
        assertTrue(blkback.list(5).get(1).spec().endsWith("target="), blkback.list(5).toString());
        blkback.changeMedium(5, DiskSpec.parse("vdev=hdc, access=ro, devtype=cdrom, target=" + second));
        assertEquals(second.toString(), xen.read(be + "/params"), "inserted");
        assertThrows(IllegalArgumentException.class,
                () -> blkback.changeMedium(5, DiskSpec.parse("vdev=hda, access=ro, devtype=cdrom, target=" + second)));

        // a frontend that connects afterwards reads the disc in the drive now
        TestFrontend f = new TestFrontend(xen, HDC, BlkifAbi.X86_64, 0).connect();
        BlkbackTest.waitState(f, "4");
        assertEquals(Integer.toString(64 * 2048 / 512), xen.read(be + "/sectors"));
        assertEquals(Integer.toString(Blkif.VDISK_CDROM | Blkif.VDISK_REMOVABLE | Blkif.VDISK_READONLY), xen.read(be + "/info"));
        IllegalStateException busy = assertThrows(IllegalStateException.class,
                () -> blkback.changeMedium(5, DiskSpec.parse("vdev=hdc, access=ro, devtype=cdrom, target=" + first)));
        assertTrue(busy.getMessage().contains("connected"), busy.getMessage());
        assertEquals(second.toString(), xen.read(be + "/params"), "a refused change leaves params alone");
        assertEquals(List.of(), xen.internalErrors);
    }
}
