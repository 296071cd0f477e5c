package org.xenj.dom0.blkback.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.blkback.internal.BlkbackService;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hypervisor.internal.pv.PvDomainBuilder;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendInstance;
import org.xenj.hypervisor.spi.backend.GrantMapping;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * The pure PV path: guests/pv-test (built from source with gcc -m32) boots with the PV domain
 * builder and a raw disk as xvda; its small blkfront connects to blkback, writes a page at sector
 * 8, flushes, reads it back, checks that a read past the end is refused, and closes. The image
 * file must hold the page afterwards. Its earlier step (a page and a port for a {@code pvtest}
 * backend) is answered by a minimal backend here.
 */
class PvBlkfrontTest {

    @TempDir
    Path tmp;

    @Test
    void pvTestKernelBlkfrontWritesFlushesAndReadsBack() throws Exception {
        Path script = Path.of("..", "guests", "pv-test", "build.sh").toAbsolutePath().normalize();
        Path kernel = Path.of("target", "pv-test", "pv-test.elf").toAbsolutePath();
        Process p = new ProcessBuilder("sh", script.toString(), kernel.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "kernel build timed out");
        assumeTrue(p.exitValue() == 0 || !out.contains("-m32"), "gcc cannot build 32-bit code here:\n" + out);
        assertEquals(0, p.exitValue(), "building the PV test kernel failed:\n" + out);

        Path img = tmp.resolve("pv.raw");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        BlockImagesService images = new BlockImagesService();
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new PvDomainBuilder());
        plugins.addBackend(new BlkbackService(images), BlkbackService.KIND);
        plugins.addBackend(new GreetingBackend(), "pvtest");
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("96M", 1, "32M", "credit"), plugins)) {
            Domain d = xen.create(DomainConfig.builder("pv-blk").type(DomainType.PV).memoryMiB(16).kernel(kernel.toString())
                    .onPoweroff(ShutdownAction.PRESERVE).disks(List.of("format=raw, vdev=xvda, access=rw, target=" + img))
                    .raw(Map.of("backends", "[\"pvtest\"]")).build());
            long end = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < end
                    && !xen.lookup(d.id()).map(x -> x.state() == DomainState.SHUTDOWN).orElse(true)) {
                Thread.sleep(20);
            }
            String console = new String(xen.console(d.id()).history(), StandardCharsets.ISO_8859_1);
            String dmesg = String.join("\n", xen.dmesg());
            System.out.println("[pv-blkfront] console:\n" + console);
            assertTrue(console.contains("pv-test: blkfront connected to /local/domain/0/backend/vbd/" + d.id() + "/51712 (2048 sectors)"),
                    console + "\n" + dmesg);
            assertTrue(console.contains("pv-test: blkfront wrote, flushed and read back 4096 bytes at sector 8: ok"), console + "\n" + dmesg);
            assertTrue(console.contains("pv-test: all done, powering off"), console);
            assertFalse(console.contains("FAIL"), console);
            xen.destroy(d.id());
            dmesg = String.join("\n", xen.dmesg());
            dmesg.lines().filter(l -> l.contains("vbd")).forEach(l -> System.out.println("[pv-blkfront] " + l.trim()));
            assertTrue(dmesg.contains("vbd xvda: disconnected (frontend closed), 3 requests served, 1 refused or failed"
                    + " (read 2, write 1, flush-diskcache 1)"), dmesg);
        } finally {
            images.close();
        }
        byte[] page = new byte[4096];
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(8 * 512);
            f.readFully(page);
        }
        for (int i = 0; i < page.length; i++) {
            assertEquals((byte) (i * 7 + 3), page[i], "byte " + i + " of the page the PV guest wrote");
        }
        assertTrue(Files.size(img) == 1 << 20);
    }

    /** Domain 0's end of pv-test's step 3 (as the example bundle's PvTestBackend): answer the granted page, bind the port. */
    static final class GreetingBackend implements Backend {
        @Override
        public BackendInstance attach(BackendContext ctx) {
            String dir = ctx.frontendPath() + "/data/pv-test";
            boolean[] done = {false};
            var watch = ctx.store().watch(dir + "/state", changed -> {
                if (done[0] || !"ready".equals(ctx.store().read(dir + "/state"))) {
                    return;
                }
                done[0] = true;
                GrantMapping m = ctx.mapGrant(Integer.parseInt(ctx.store().read(dir + "/ring-ref")), true);
                byte[] reply = "backend-was-here\0".getBytes(StandardCharsets.US_ASCII);
                m.write(2048, reply, 0, reply.length);
                m.unmap();
                var port = ctx.bindInterdomain(Integer.parseInt(ctx.store().read(dir + "/port")), () -> { });
                ctx.store().write(dir + "/state", "connected");
                port.notifyRemote();
            });
            return watch::cancel;
        }
    }
}
