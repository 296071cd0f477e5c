package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.save.SaveStream;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/**
 * A snapshot pauses the domain only to take its records and freeze its memory copy-on-write; the
 * pages are written after the resume while the guest counts on and writes its counter page. The
 * image must hold the memory of the pause instant (compared page by page with a copy taken in
 * the pause), a revert must put it back, a failed write must leave no image, no shared frame and
 * the domain running, and a domain that cannot share is written in the pause as before.
 */
class SnapshotLiveWriteTest {

    private static final int COUNTER_GPA = 0x2000;

    @TempDir
    Path dir;
    private TestCores.Fixture fx;
    private final CounterDeviceModel counter = new CounterDeviceModel();

    private void start() {
        fx = TestCores.start(2, "64M");
        fx.plugins().addBuilder(new HvmGuestBuilder());
        fx.plugins().addDeviceModel(counter);
        fx.core().configureSnapshots(dir.resolve("snapshots").toString());
    }

    @AfterEach
    void stop() {
        SnapshotCapture.pausedHook = null;
        SnapshotCapture.writingHook = null;
        if (fx != null) {
            fx.close();
        }
    }

    private Domain counting(String name) throws Exception {
        Path elf = CounterDeviceModel.counterElf(dir, name);
        Domain d = fx.core().create(DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "0")).build());
        assertTrue(TestCores.await(() -> counter.last(d.id()) > 1000, 10_000), "the guest counts: " + counter.last(d.id()));
        return d;
    }

    private DomainImpl impl(Domain d) {
        return fx.core().domainOrNull(d.id());
    }

    private int memoryCount(Domain d) {
        return impl(d).memory.read32(COUNTER_GPA);
    }

    /** Every page a save would write, by guest frame (null: not in the image). */
    private static byte[][] pages(DomainMemory mem) {
        SaveStream.PageSource src = SaveRestore.pages(mem);
        byte[][] out = new byte[(int) src.gfnLimit()][];
        for (int gfn = 0; gfn < out.length; gfn++) {
            byte[] p = new byte[MachineMemory.PAGE_SIZE];
            if (src.read(gfn, p, 0)) {
                out[gfn] = p;
            }
        }
        return out;
    }

    /** The pages of an image file, by guest frame. */
    private static byte[][] imagePages(Path file, int limit) throws Exception {
        byte[][] out = new byte[limit][];
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            SaveStream.loadPages(in, new SaveStream.PageSink() {
                @Override
                public boolean populated(long gfn) {
                    return gfn < limit;
                }

                @Override
                public void write(long gfn, byte[] src, int off) {
                    out[(int) gfn] = java.util.Arrays.copyOfRange(src, off, off + MachineMemory.PAGE_SIZE);
                }
            });
        }
        return out;
    }

    private static void assertSamePages(byte[][] expected, byte[][] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int g = 0; g < expected.length; g++) {
            assertEquals(expected[g] == null, actual[g] == null, what + ": guest frame 0x" + Integer.toHexString(g) + " present");
            if (expected[g] != null) {
                assertArrayEquals(expected[g], actual[g], what + ": guest frame 0x" + Integer.toHexString(g));
            }
        }
    }

    @Test
    void theImageHoldsThePauseInstantWhileTheGuestWritesOn() throws Exception {
        start();
        Domain d = counting("live");
        MachineMemory machine = impl(d).memory.machine();
        int sharedBefore = machine.sharedFrames();
        AtomicReference<byte[][]> atPause = new AtomicReference<>();
        AtomicInteger countAtPause = new AtomicInteger();
        AtomicInteger countWhileWriting = new AtomicInteger();
        SnapshotCapture.pausedHook = x -> {
            atPause.set(pages(x.memory));
            countAtPause.set(x.memory.read32(COUNTER_GPA));
        };
        // the pages are not written yet: the guest must run and write its counter page (unsharing it) meanwhile
        SnapshotCapture.writingHook = x -> {
            assertTrue(TestCores.await(() -> x.memory.read32(COUNTER_GPA) > countAtPause.get() + 50_000, 20_000),
                    "the guest runs during the write: " + x.memory.read32(COUNTER_GPA));
            countWhileWriting.set(x.memory.read32(COUNTER_GPA));
        };
        var s = fx.core().snapshotCreate(d.id(), "s1");
        assertNotNull(atPause.get(), "the pause hook ran");
        assertTrue(countWhileWriting.get() > countAtPause.get() + 50_000, "the image was written while the guest ran: "
                + countWhileWriting.get() + " vs " + countAtPause.get());
        assertEquals(DomainState.RUNNING, d.state());
        assertTrue(s.pausedNanos() > 0);
        byte[][] image = imagePages(Path.of(s.file()), atPause.get().length);
        assertSamePages(atPause.get(), image, "the image is the memory at the pause");
        assertEquals(countAtPause.get(), java.nio.ByteBuffer.wrap(image[COUNTER_GPA >>> 12]).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(),
                "the image's counter page holds the pause's value");
        assertEquals(sharedBefore, machine.sharedFrames(), "the share ended with the write");
        assertEquals(0, impl(d).memory.sharedFramesMapped(), "the domain owns its frames again");
        assertTrue(fx.core().dmesg().stream().anyMatch(l -> l.contains("snapshot 's1'") && l.contains("frozen copy-on-write")),
                String.join("\n", fx.core().dmesg()));

        fx.core().pause(d.id());
        assertTrue(memoryCount(d) > countAtPause.get() + 50_000);
        fx.core().snapshotRevert(d.id(), "s1");
        assertEquals(countAtPause.get(), memoryCount(d), "the revert puts the pause instant's count back");
        assertSamePages(atPause.get(), pages(impl(d).memory), "memory after the revert is the memory at the pause");
        fx.core().unpause(d.id());
        int from = countAtPause.get();
        assertTrue(TestCores.await(() -> counter.last(d.id()) > from + 1000 && counter.last(d.id()) < from + 40_000_000, 10_000),
                "counts on from the snapshot: " + counter.last(d.id()));
        assertNull(counter.error.get(), "every value after the revert follows the snapshot's, in order");
    }

    @Test
    void aFailedWriteLeavesNoImageNoShareAndTheDomainRunning() throws Exception {
        start();
        Domain d = counting("full");
        MachineMemory machine = impl(d).memory.machine();
        int sharedBefore = machine.sharedFrames();
        AtomicBoolean failed = new AtomicBoolean();
        SnapshotCapture.writingHook = x -> {
            failed.set(true);
            throw new IOException("No space left on device (test)");
        };
        HypervisorException e = assertThrows(HypervisorException.class, () -> fx.core().snapshotCreate(d.id(), "s1"));
        assertTrue(failed.get(), "the write failed after the pause");
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        assertEquals(sharedBefore, machine.sharedFrames(), "no share reference leaked");
        assertEquals(0, impl(d).memory.sharedFramesMapped());
        assertEquals(DomainState.RUNNING, d.state());
        int now = counter.last(d.id());
        assertTrue(TestCores.await(() -> counter.last(d.id()) > now + 1000, 10_000), "runs on");
        try (Stream<Path> files = Files.walk(dir.resolve("snapshots"))) {
            List<Path> left = files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals("index")).toList();
            assertEquals(List.of(), left, "no image, no temporary file");
        }
        assertEquals(List.of(), fx.core().snapshots(d.id()));

        // nothing stuck: the next snapshot works
        SnapshotCapture.writingHook = null;
        var s = fx.core().snapshotCreate(d.id(), "s1");
        assertTrue(Files.size(Path.of(s.file())) == s.bytes());
        assertEquals(sharedBefore, machine.sharedFrames());
        assertNull(counter.error.get());
    }

    @Test
    void duringTheWriteARevertIsRefusedAndADestroyLeavesTheImageWhole() throws Exception {
        start();
        Domain d = counting("gone");
        MachineMemory machine = impl(d).memory.machine();
        int sharedBefore = machine.sharedFrames();
        int freeBefore = machine.freeFrames();
        fx.core().snapshotCreate(d.id(), "s0");
        AtomicReference<byte[][]> atPause = new AtomicReference<>();
        SnapshotCapture.pausedHook = x -> atPause.set(pages(x.memory));
        AtomicReference<String> refused = new AtomicReference<>();
        SnapshotCapture.writingHook = x -> {
            // the capture holds the domain's state for the whole write: a revert now would change what it writes
            try {
                fx.core().snapshotRevert(x.id, "s0");
            } catch (HypervisorException e) {
                refused.set(e.getMessage());
            }
            fx.core().destroy(x.id); // the frozen frames outlive the domain until the write ends
        };
        var s = fx.core().snapshotCreate(d.id(), "s1");
        assertNotNull(refused.get(), "the revert was refused");
        assertTrue(refused.get().contains("busy with snapshot 's1'"), refused.get());
        assertNull(fx.core().domainOrNull(d.id()), "destroyed");
        assertSamePages(atPause.get(), imagePages(Path.of(s.file()), atPause.get().length), "the image is the memory at the pause");
        assertEquals(sharedBefore, machine.sharedFrames(), "the frozen frames went with the write's end");
        assertTrue(TestCores.await(() -> machine.freeFrames() >= freeBefore + 16 * 256, 10_000),
                "the domain's memory is free again: " + machine.freeFrames() + " vs " + freeBefore);
    }

    @Test
    void aDomainThatCannotShareIsWrittenInThePause() throws Exception {
        start();
        Domain d = counting("noshare");
        DomainMemory mem = impl(d).memory;
        // what a PV memory plan sets (guest frame = machine frame): shareForClone refuses such a domain
        var plan = DomainMemory.class.getDeclaredField("identityPlan");
        plan.setAccessible(true);
        plan.setBoolean(mem, true);
        assertFalse(mem.canShare());
        int sharedBefore = mem.machine().sharedFrames();
        AtomicReference<byte[][]> atPause = new AtomicReference<>();
        AtomicInteger countAtPause = new AtomicInteger();
        AtomicBoolean wroteAfter = new AtomicBoolean();
        SnapshotCapture.pausedHook = x -> {
            atPause.set(pages(x.memory));
            countAtPause.set(x.memory.read32(COUNTER_GPA));
        };
        SnapshotCapture.writingHook = x -> wroteAfter.set(true);
        var s = fx.core().snapshotCreate(d.id(), "s1");
        assertFalse(wroteAfter.get(), "nothing written after the pause");
        assertEquals(DomainState.RUNNING, d.state());
        assertSamePages(atPause.get(), imagePages(Path.of(s.file()), atPause.get().length), "the image is the memory at the pause");
        assertEquals(sharedBefore, mem.machine().sharedFrames());
        assertTrue(fx.core().dmesg().stream().anyMatch(l -> l.contains("snapshot 's1'") && l.contains("memory written in the pause")),
                String.join("\n", fx.core().dmesg()));
        fx.core().pause(d.id());
        fx.core().snapshotRevert(d.id(), "s1");
        assertEquals(countAtPause.get(), memoryCount(d));
        fx.core().unpause(d.id());
        int from = countAtPause.get();
        assertTrue(TestCores.await(() -> counter.last(d.id()) > from + 1000, 10_000), "counts on from the snapshot");
        assertNull(counter.error.get());
    }
}
