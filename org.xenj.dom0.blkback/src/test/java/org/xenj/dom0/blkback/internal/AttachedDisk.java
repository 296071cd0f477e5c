package org.xenj.dom0.blkback.internal;

import java.nio.file.Path;
import java.util.List;

import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hypervisor.api.DomainConfig;

/**
 * One image attached as xvda of domain 5 exactly as a guest reaches it: the real block layer and
 * blkback over {@link FakeXen}, with {@link TestFrontend} connected on a one-page x86_64 ring.
 * Used by the crash test's child (the write storm) and by the parent (the re-attach).
 */
final class AttachedDisk implements AutoCloseable {

    static final int XVDA = 51712;

    final BlockImagesService images = new BlockImagesService();
    final FakeXen xen;
    final BlkbackService blkback;
    final TestFrontend frontend;
    final long sectors;

    AttachedDisk(Path image, String format) throws Exception {
        xen = new FakeXen(5, DomainConfig.builder("crash").disks(List.of("format=" + format + ", vdev=xvda, access=rw, target="
                + image)).build());
        xen.quietLog = true;
        blkback = new BlkbackService(images);
        xen.executor().execute(() -> blkback.attach(xen));
        xen.sync();
        xen.sync();
        frontend = new TestFrontend(xen, XVDA, BlkifAbi.X86_64, 0).connect();
        long end = System.currentTimeMillis() + 10_000;
        while (!"4".equals(frontend.beState()) && System.currentTimeMillis() < end) {
            xen.sync();
            Thread.sleep(2);
        }
        if (!"4".equals(frontend.beState())) {
            throw new IllegalStateException("backend did not connect: state " + frontend.beState() + ", log " + xen.log);
        }
        sectors = Long.parseLong(xen.read(frontend.be + "/sectors"));
    }

    /** The frontend closes (backend disconnects: waits for I/O, flushes, closes the image). */
    @Override
    public void close() throws Exception {
        try {
            xen.guestWrites(frontend.fe + "/state", "5");
            xen.sync();
            xen.guestWrites(frontend.fe + "/state", "6");
            long end = System.currentTimeMillis() + 10_000;
            while (!"6".equals(frontend.beState()) && System.currentTimeMillis() < end) {
                xen.sync();
                Thread.sleep(2);
            }
            if (!xen.internalErrors.isEmpty()) {
                throw new AssertionError("exceptions escaped to the backend's executor: " + xen.internalErrors);
            }
        } finally {
            xen.shutdown();
            images.close();
        }
    }
}
