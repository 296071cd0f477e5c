package org.xenj.dom0.netback.boot;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.dom0.blkback.internal.BlkbackService;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.netback.internal.Netback;
import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hypervisor.internal.gnttab.GrantTable;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.pv.PvDomainBuilder;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * Mini-OS's own frontends (Xen's small PV kernel, prebuilt outside this project from upstream
 * 229260e: ../shared/guests/mini-os) against our backends on the real hypervisor — event
 * channels, grant tables and xenstore of a PV domain, in one boot:
 * <ul>
 * <li><b>netfront</b> (device/vif/0) reaches Connected with netback, and frames the switch floods
 * land in the rx buffers it granted (grant copy into a PV guest);</li>
 * <li><b>blkfront</b> (device/vbd/768 — the number Mini-OS hard-codes, {@code hda} in
 * xen-vbd-interface) connects to blkback over an xl {@code disk=} spec, with the x86_32 ring
 * layout it declares ({@code protocol=x86_32-abi}), prints the size blkback published, and its test
 * application reads sector 0, the last sector and random sectors in a loop. This build has no
 * {@code BLKTEST_WRITE}, so it never writes data: the image must be unchanged afterwards.
 * At poweroff its {@code shutdown_blkfront} sends WRITE_BARRIER and FLUSH_DISKCACHE without
 * segments (blkback offers both) and closes Closing → Closed → Initialising;</li>
 * <li><b>fbfront/kbdfront</b>: xenj has no vfb/vkbd backend, so their threads find no
 * {@code backend-id}, give up and exit; the guest keeps running and powers off cleanly.</li>
 * </ul>
 * Skipped, with the reason, when the image is not there.
 */
class MiniOsFrontendsTest {

    private static final int SECTORS = 2048;
    private static final Pattern READ_LINE = Pattern.compile("(\\d+) read, (\\d+) write");

    @TempDir
    Path tmp;

    @Test
    void miniOsNetfrontAndBlkfrontConnectAndWork() throws Exception {
        String p = System.getProperty("xenj.minios");
        Path gz = p != null ? Path.of(p) : Path.of("..", "..", "shared", "guests", "mini-os", "mini-os-x86_32.gz").toAbsolutePath().normalize();
        if (!Files.isReadable(gz)) {
            System.out.println("[minios] skipped: no Mini-OS image at " + gz);
        }
        assumeTrue(Files.isReadable(gz), "Mini-OS image not found at " + gz);
        Path img = tmp.resolve("minios.raw");
        byte[] content = new byte[SECTORS * 512];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 31 + (i >>> 9)); // every sector different: a misplaced write would show
        }
        Files.write(img, content);
        String before = sha256(img);

        List<String> log = new CopyOnWriteArrayList<>();
        SwitchService sw = new SwitchService(System::nanoTime, log::add, 300_000);
        Netback netback = new Netback(sw);
        BlockImagesService images = new BlockImagesService();
        BlkbackService blkback = new BlkbackService(images);
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new PvDomainBuilder());
        plugins.addBackend(netback, Netback.KIND);
        plugins.addBackend(blkback, BlkbackService.KIND);
        ExecutorService nic = Executors.newSingleThreadExecutor();
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("128M", 1, "32M", "credit"), plugins)) {
            Domain d = xen.create(DomainConfig.builder("minios").type(DomainType.PV).memoryMiB(32).kernel(gz.toString())
                    .onPoweroff(ShutdownAction.PRESERVE)
                    .vifs(List.of("mac=00:16:3e:0a:0b:0c,bridge=xenbr0"))
                    .disks(List.of("format=raw, vdev=hda, access=rw, target=" + img)).build());
            try (GuestConsole c = new GuestConsole(xen.console(d.id()))) {
                long end = System.currentTimeMillis() + 120_000;
                VifInfo v = null;
                VirtualDisk disk = null;
                while (System.currentTimeMillis() < end) {
                    v = first(() -> netback.list(d.id())); // netback attaches on its own executor
                    disk = first(() -> blkback.list(d.id()));
                    if (v != null && v.backendState() == 4 && v.frontendState() == 4 && disk != null && disk.backendState() == 4
                            && c.text().contains("sectors of") && c.text().contains("KBDFRONT for device/vkbd/0")) {
                        break;
                    }
                    Thread.sleep(100);
                }
                System.out.println("[minios-net] " + v + "\n[minios-blk] " + disk);
                String dmesg = String.join("\n", xen.dmesg());
                assertNotNull(v, dmesg);
                assertEquals(4, v.backendState(), "backend Connected: " + v + "\n" + dmesg);
                assertEquals(4, v.frontendState(), "Mini-OS's netfront Connected");

                // blkfront: the vbd it hard-codes, as the disk= spec's hda
                assertNotNull(disk, "blkback serves the disk:\n" + dmesg);
                assertEquals(768, disk.devid(), "hda is Xen's device number 768, what Mini-OS's blkfront opens");
                assertEquals(4, disk.backendState(), "blkback Connected: " + disk + "\n" + dmesg);
                assertEquals(4, disk.frontendState(), "Mini-OS's blkfront wrote Connected: " + disk);
                assertEquals(SECTORS, disk.sectors());
                assertTrue(dmesg.contains("vbd hda: connected, x86_32-abi, ring of 32 on 1 page(s)"),
                        "Mini-OS declares the x86_32 layout, a one-page ring of 32:\n" + dmesg);
                String console = c.text();
                assertTrue(console.contains("BLKFRONT for device/vbd/768"), console);
                assertTrue(console.contains("backend at /local/domain/0/backend/vbd/" + d.id() + "/768"), console);
                assertTrue(console.contains(SECTORS + " sectors of 512 bytes"), "the size blkback published:\n" + console);
                assertFalse(console.contains("Block device is read-only"), "access=rw: " + console);

                // netfront: broadcast frames from another port, copied into the rx buffers Mini-OS granted
                Port other = sw.bridge("xenbr0").attach("test", nic, (f, len) -> { });
                for (int i = 0; i < 100; i++) {
                    byte[] f = new byte[60 + i];
                    Frames.put(0xffffffffffffL, f, 0);
                    Frames.put(0x020000000001L, f, 6);
                    f[12] = (byte) 0x88;
                    f[13] = (byte) 0xb5; // local experimental EtherType: nobody answers
                    other.send(f, f.length);
                    Thread.sleep(5);
                }
                long until = System.currentTimeMillis() + 20_000;
                while (netback.list(d.id()).get(0).toGuest() < 100 && System.currentTimeMillis() < until) {
                    Thread.sleep(50);
                }
                v = netback.list(d.id()).get(0);
                System.out.println("[minios-net] after 100 broadcasts: " + v);
                assertEquals(100, v.counters().txFrames(), "the switch delivered every frame to the vif: " + v);
                assertEquals(100, v.toGuest(), "netback copied every frame into an rx buffer Mini-OS granted: " + v);
                assertEquals(0, v.refused(), v.toString());
                assertNull(v.error(), "no error on the vif");
                // Mini-OS's own account, two ways. (1) Its rx ring: netfront posted 256 buffers at connect, and each
                // time it takes responses off the ring it posts as many new buffers, then asks for an event at the
                // next response (RING_FINAL_CHECK_FOR_RESPONSES: rsp_event = rsp_cons + 1). Once it took all 100,
                // req_prod = 356 and rsp_event = 101 (in that order: it sets rsp_event before it grants the new
                // buffers). A lost rx event leaves rsp_event at or below rsp_prod = 100.
                int[] ring = rxRing(xen, d.id());
                long ringUntil = System.currentTimeMillis() + 20_000;
                while ((ring[2] != 101 || ring[0] != 356) && System.currentTimeMillis() < ringUntil) {
                    Thread.sleep(50);
                    ring = rxRing(xen, d.id());
                }
                System.out.println("[minios-net] Mini-OS's rx ring: req_prod=" + ring[0] + " rsp_prod=" + ring[1] + " rsp_event=" + ring[2]);
                String stuck = "";
                if (ring[2] != 101 || ring[0] != 356) {
                    xen.debugKeys("d"); // where its vCPU is, and its upcall_pending/upcall_mask
                    stuck = "\n" + String.join("\n", xen.dmesg()) + "\n" + c.text();
                }
                assertEquals(100, ring[1], "netback published 100 rx responses" + stuck);
                assertEquals(101, ring[2], "Mini-OS took all 100 responses off its rx ring and waits for the 101st" + stuck);
                assertEquals(356, ring[0], "Mini-OS gave back a buffer for every response it took" + stuck);
                // (2) Its handler prints '<len> bytes incoming at <va>' per frame: printk sends each line with
                // console_io (one hypercall, a '(dN) ' line in the hypervisor log) and into the console ring. Only
                // the console_io line of the handler is whole every time: printk is not reentrant (one static
                // buffer; xencons_ring_send writes from the out_prod it read before it started), and the handler
                // runs in the event upcall, which may interrupt a thread's own printk (the periodic 'T(s=...)' line,
                // blkfront's counts). Then the console ring shows a mixed line ("T4 bytes incoming at 0x137T(s=...)"),
                // the same line twice, or the handler's line overwritten by the rest of the thread's: Mini-OS's
                // own doing, as on Xen. So the console ring is counted and shown, the log is the assertion.
                Pattern incoming = Pattern.compile("\\(d" + d.id() + "\\) (\\d+) bytes incoming at 0x[0-9a-f]+");
                java.util.BitSet lengths = new java.util.BitSet();
                long logUntil = System.currentTimeMillis() + 20_000;
                do {
                    lengths.clear();
                    for (String line : xen.dmesg()) {
                        Matcher m = incoming.matcher(line);
                        if (m.find()) {
                            int len = Integer.parseInt(m.group(1));
                            assertTrue(len >= 60 && len < 160, "Mini-OS handled a frame the test never sent: " + line);
                            lengths.set(len);
                        }
                    }
                } while (lengths.cardinality() < 100 && System.currentTimeMillis() < logUntil && sleep(50));
                long printed = Pattern.compile("\\d+ bytes incoming at ").matcher(c.text()).results().count();
                int firstMissing = 60;
                while (firstMissing < 160 && c.text().contains("\n" + firstMissing + " bytes incoming at ")) {
                    firstMissing++;
                }
                System.out.println("[minios-net] Mini-OS's handler logged " + lengths.cardinality() + " of the 100 frames; its console ring shows "
                        + printed + " lines" + (firstMissing < 160 ? ", the first missing or mixed one is " + firstMissing + " bytes" : ""));
                assertEquals(100, lengths.cardinality(), "Mini-OS's netfront handled every frame (lengths 60..159): " + lengths
                        + "\n" + String.join("\n", xen.dmesg()));
                assertTrue(printed >= 1, "Mini-OS's netfront printed to its console ring:\n" + c.text());
                assertFalse(c.text().contains("packet error"), c.text());

                // its blkfront thread prints '<bytes> read, <bytes> write' on its first loop and then every ~10 s of
                // guest time; the second line counts the reads blkback answered OKAY (errors are not counted)
                long readsUntil = System.currentTimeMillis() + 60_000;
                while (readLines(c.text()) < 2 && System.currentTimeMillis() < readsUntil) {
                    Thread.sleep(100);
                }
                assertTrue(readLines(c.text()) >= 2, "a second '<n> read, <n> write' line:\n" + c.text());

                // poweroff: Mini-OS's shutdown thread closes netfront and blkfront (barrier + flush first), then shuts down
                xen.shutdown(d.id(), ShutdownReason.POWEROFF);
                long down = System.currentTimeMillis() + 60_000;
                while (System.currentTimeMillis() < down
                        && !xen.lookup(d.id()).map(x -> x.state() == DomainState.SHUTDOWN).orElse(true)) {
                    Thread.sleep(50);
                }
                console = c.text();
                dmesg = String.join("\n", xen.dmesg());
                System.out.println("[minios] console:\n" + console);
                dmesg.lines().filter(l -> l.contains("vbd") || l.contains("vif") || l.contains("minios"))
                        .forEach(l -> System.out.println("[minios] dmesg " + l.trim()));
                assertEquals(DomainState.SHUTDOWN, xen.lookup(d.id()).orElseThrow().state(), "Mini-OS powered off:\n" + console);

                // what its test application printed about the disk
                Matcher m = READ_LINE.matcher(console);
                long lines = 0, lastRead = -1;
                while (m.find()) {
                    lines++;
                    lastRead = Long.parseLong(m.group(1));
                    assertEquals("0", m.group(2), "this build never writes: " + m.group());
                }
                assertTrue(lines >= 2, "the blkfront thread prints '<n> read, <n> write':\n" + console);
                assertTrue(lastRead > 0 && lastRead % 512 == 0, "whole sectors read without error: " + lastRead);
                for (String bad : List.of("read error", "write error", "got error code", "write barrier error", "flush error",
                        "unrecognized block operation", "backend not available")) {
                    assertFalse(console.contains(bad), "'" + bad + "' in:\n" + console);
                }
                assertTrue(console.contains("close blk: backend=/local/domain/0/backend/vbd/" + d.id() + "/768 node=device/vbd/768"),
                        "blkfront closed at poweroff:\n" + console);
                // blkback's account of the connection: reads only, the shutdown's barrier and flush, nothing refused
                Matcher served = Pattern.compile("vbd hda: disconnected \\(frontend clos(?:ing|ed)\\), (\\d+) requests served, 0 refused or failed"
                        + " \\(read (\\d+), write-barrier 1, flush-diskcache 1\\)").matcher(dmesg);
                assertTrue(served.find(), "blkback's disconnect line:\n" + dmesg);
                long reads = Long.parseLong(served.group(2));
                assertEquals(reads + 2, Long.parseLong(served.group(1)));
                assertTrue(reads >= 2 && reads * 512 >= lastRead, "blkback served at least what Mini-OS counted: " + reads
                        + " reads, Mini-OS last printed " + lastRead + " bytes");
                System.out.println("[minios-blk] blkback served " + reads + " reads; Mini-OS last printed " + lastRead + " bytes read");

                // Mini-OS powers off only after each backend answered its Closing, Closed and Initialising with
                // Closing, Closed and InitWait (shutdown_blkfront/shutdown_netfront wait for each): both are ready again
                VirtualDisk after = blkback.list(d.id()).get(0);
                assertEquals(2, after.backendState(), "blkback back in InitWait: " + after);
                assertEquals(1, after.frontendState(), "blkfront back to Initialising: " + after);
                VifInfo vifAfter = netback.list(d.id()).get(0);
                assertEquals(2, vifAfter.backendState(), "netback back in InitWait: " + vifAfter);
                assertEquals(1, vifAfter.frontendState(), "netfront back to Initialising: " + vifAfter);

                // fbfront/kbdfront: no vfb/vkbd backend in xenj; both threads give up, nothing hangs
                assertTrue(console.contains("FBFRONT for device/vfb/0"), console);
                assertTrue(console.contains("Failed to read device/vfb/0/backend-id."), console);
                assertTrue(console.contains("Failed to read device/vkbd/0/backend-id."), console);
                assertTrue(xen.dmesg().stream().noneMatch(l -> l.contains("backend vif") && l.contains("failed")), dmesg);
            }
        } finally {
            nic.shutdownNow();
            netback.close();
            sw.close();
            images.close();
        }
        // Mini-OS only reads (no BLKTEST_WRITE): the barrier and flush must not have changed a byte
        assertEquals(before, sha256(img), "the image is unchanged");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            assertEquals(content.length, f.length());
        }
    }

    /**
     * The same test application built with {@code -DBLKTEST_WRITE} (upstream's switch; the shared
     * image is built without it): on a writable disk its blkfront writes sector 0, the last sector
     * and then random sectors, each filled with a chain of 32-bit words (w[i+1] = w[i] * RAND_MIX,
     * 2654435769, from a rand() seed), reads each one back once its write completed and prints
     * {@code bogus data at offset <n>} for a sector that does not hold its chain. Opt-in, because the
     * build needs Mini-OS's source tree: {@code -Dxenj.minios.blkwrite=<gzipped image>} (build it
     * as ../shared/guests/mini-os/build.sh does, with {@code DEF_CFLAGS="-DBLKTEST_WRITE
     * -Wno-error=format"}). The disk is a sparse 2^24-sector raw file: the application also writes
     * again to random sectors while a read-back is pending, so on a small disk a later write can
     * legitimately land between a write and its read-back (2048 sectors: 30 "bogus" lines in
     * 19,000 writes, every one a whole different sector); at 2^24 sectors that chance is about 1 in
     * 250 per run. Afterwards every non-zero sector of the image must hold one whole chain — never a
     * torn, shifted or foreign sector — and sectors 0 and last must have been written.
     */
    @Test
    void miniOsBlktestWriteBuildWritesAndReadsBack() throws Exception {
        String p = System.getProperty("xenj.minios.blkwrite");
        assumeTrue(p != null && Files.isReadable(Path.of(p)),
                "no Mini-OS BLKTEST_WRITE build given (-Dxenj.minios.blkwrite=<image>; see the javadoc for how to build it)");
        long sectors = 1L << 24;
        Path img = tmp.resolve("minios-write.raw");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(sectors * 512); // sparse
        }
        BlockImagesService images = new BlockImagesService();
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new PvDomainBuilder());
        plugins.addBackend(new BlkbackService(images), BlkbackService.KIND);
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("128M", 1, "32M", "credit"), plugins)) {
            Domain d = xen.create(DomainConfig.builder("minios-w").type(DomainType.PV).memoryMiB(32).kernel(p)
                    .onPoweroff(ShutdownAction.PRESERVE).disks(List.of("format=raw, vdev=hda, access=rw, target=" + img)).build());
            try (GuestConsole c = new GuestConsole(xen.console(d.id()))) {
                long until = System.currentTimeMillis() + 120_000;
                while (readLines(c.text()) < 2 && System.currentTimeMillis() < until) {
                    Thread.sleep(100);
                }
                xen.shutdown(d.id(), ShutdownReason.POWEROFF);
                long down = System.currentTimeMillis() + 60_000;
                while (System.currentTimeMillis() < down
                        && !xen.lookup(d.id()).map(x -> x.state() == DomainState.SHUTDOWN).orElse(true)) {
                    Thread.sleep(50);
                }
                String console = c.text();
                String dmesg = String.join("\n", xen.dmesg());
                console.lines().filter(l -> l.contains(" write") || l.contains("bogus") || l.contains("error") || l.contains("blk"))
                        .forEach(l -> System.out.println("[minios-blkwrite] " + l));
                dmesg.lines().filter(l -> l.contains("vbd hda")).forEach(l -> System.out.println("[minios-blkwrite] dmesg " + l.trim()));
                Matcher m = READ_LINE.matcher(console);
                long written = 0;
                while (m.find()) {
                    written = Long.parseLong(m.group(2));
                }
                assertTrue(written > 0, "the BLKTEST_WRITE build wrote (is it one?):\n" + console);
                assertFalse(console.contains("bogus data"), console);
                assertFalse(console.contains("got error code"), console);
                assertTrue(dmesg.contains("0 refused or failed (read "), dmesg);
                assertEquals(DomainState.SHUTDOWN, xen.lookup(d.id()).orElseThrow().state(), console);
            }
        } finally {
            images.close();
        }
        long chains = 0;
        boolean first = false, last = false;
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ)) {
            assertEquals(sectors * 512, ch.size());
            for (long pos = 0; pos < ch.size(); pos += buf.capacity()) {
                buf.clear();
                while (buf.hasRemaining() && ch.read(buf, pos + buf.position()) > 0) {
                    // fill the whole megabyte
                }
                for (int s = 0; s < buf.capacity(); s += 512) {
                    if (isZero(buf, s)) {
                        continue;
                    }
                    long sector = (pos + s) / 512;
                    assertTrue(isChain(buf, s), "sector " + sector + " holds no whole RAND_MIX chain: torn, shifted or foreign data");
                    chains++;
                    first |= sector == 0;
                    last |= sector == sectors - 1;
                }
            }
        }
        System.out.println("[minios-blkwrite] " + chains + " written sectors in the image, each one whole chain");
        assertTrue(first && last, "sector 0 and the last sector were written first");
        assertTrue(chains > 2, "random sectors written: " + chains);
    }

    private static boolean isZero(ByteBuffer b, int at) {
        for (int i = 0; i < 512; i += 8) {
            if (b.getLong(at + i) != 0) {
                return false;
            }
        }
        return true;
    }

    /** Mini-OS's write pattern: 128 little-endian words, each the previous one times RAND_MIX (mod 2^32). */
    private static boolean isChain(ByteBuffer b, int at) {
        int w = b.getInt(at);
        for (int i = 1; i < 128; i++) {
            w *= (int) 2654435769L;
            if (b.getInt(at + 4 * i) != w) {
                return false;
            }
        }
        return true;
    }

    /** Sleeps and answers true, for polling loops. */
    private static boolean sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
        return true;
    }

    /**
     * Mini-OS's rx ring as its netfront left it, {req_prod, rsp_prod, rsp_event}: read from the page it
     * granted (rx-ring-ref in its vif directory; a PV grant names the machine frame), as a debugger
     * would, independently of netback.
     */
    private static int[] rxRing(HypervisorCore xen, int domid) {
        XenDomain xd = xen.xen().domain(domid);
        String refText = new String(xen.xen().store.read(0, 0, "/local/domain/" + domid + "/device/vif/0/rx-ring-ref"),
                java.nio.charset.StandardCharsets.US_ASCII);
        int ref = Integer.parseInt(refText.trim());
        long entry = ((long) xd.gnttab.frameMfn(ref / GrantTable.ENTRIES_PER_FRAME) << 12) + (long) (ref % GrantTable.ENTRIES_PER_FRAME) * 8;
        long page = (MachineFrames.read32(xd.machine, entry + 4) & 0xffffffffL) << 12; // grant_entry_v1 {flags, domid, frame}
        return new int[] {MachineFrames.read32(xd.machine, page), MachineFrames.read32(xd.machine, page + 8),
                MachineFrames.read32(xd.machine, page + 12)};
    }

    private static int readLines(String console) {
        Matcher m = READ_LINE.matcher(console);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    private interface Lister<T> {
        List<T> list();
    }

    private static <T> T first(Lister<T> l) {
        try {
            List<T> all = l.list();
            return all.isEmpty() ? null : all.get(0);
        } catch (IllegalArgumentException notYet) {
            return null;
        }
    }

    private static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }
}
