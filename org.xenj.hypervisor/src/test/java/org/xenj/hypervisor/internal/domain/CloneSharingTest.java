package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/**
 * Issue 15 §3: a live clone shares its original's memory copy-on-write. On the counter guest (a
 * CPU store into guest frame 2 at every step): after the clone only the frames written since cost
 * memory; each domain sees only its own writes (the CPU's stores, a device's DomainMemory write),
 * a write by machine address into a shared frame is refused, both count on, a destroy of either
 * leaves the other right and frees a frame only with its last sharer, and a save + restore of the
 * clone gives its own memory.
 */
class CloneSharingTest {

    private static final int COUNTER_GPA = 0x2000;
    /** A guest frame the counter guest never writes (its code is at 1 MiB, its data at 0x2000). */
    private static final long QUIET_GPA = 0x80000;

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
        if (fx != null) {
            fx.close();
        }
    }

    private Domain counter(String name) throws Exception {
        Path elf = CounterDeviceModel.counterElf(dir, name);
        Domain d = fx.core().create(DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "0")).build());
        assertTrue(TestCores.await(() -> counter.last(d.id()) > 1000, 10_000), "the guest counts");
        return d;
    }

    private DomainMemory mem(Domain d) {
        return fx.core().domainOrNull(d.id()).memory;
    }

    private String dmesg() {
        return String.join("\n", fx.core().dmesg());
    }

    @Test
    void aLiveCloneSharesItsMemoryAndEachBranchWritesOnlyItsOwn() throws Exception {
        start();
        MachineMemory machine = fx.core().machineMemory();
        int initial = machine.freeFrames();
        Domain d = counter("orig");
        DomainMemory dm = mem(d);
        int ram = dm.populatedFrames();
        dm.write32(QUIET_GPA, 0x11111111);
        int freeBefore = machine.freeFrames();

        Domain c = fx.core().cloneDomain(d.id(), null, "twin");
        DomainMemory cm = mem(c);
        System.out.printf("live clone of %d frames: %d shared, %d more frames used; %s%n", ram, machine.sharedFrames(),
                freeBefore - machine.freeFrames(), fx.core().dmesg().stream().filter(l -> l.contains("cloned from") && l.contains(" ms ")).findFirst().orElse("?"));
        assertTrue(TestCores.await(() -> counter.last(c.id()) > 1000, 10_000), "the clone counts on: " + dmesg());
        int od = counter.last(d.id());
        assertTrue(TestCores.await(() -> counter.last(d.id()) > od + 10_000, 10_000), "the original counts on: " + dmesg());
        assertEquals(DomainState.RUNNING, d.state(), dmesg());
        assertEquals(ram, cm.populatedFrames(), "the clone has all the RAM");
        assertEquals(ram, dm.populatedFrames(), "and so has the original");
        int shared = machine.sharedFrames();
        assertTrue(shared > ram - 64, "nearly every frame is shared: " + shared + " of " + ram);
        // a live clone costs only what was written since (the counter's frame in each, stacks): not 16 MiB
        int used = freeBefore - machine.freeFrames();
        assertTrue(used < 64, "a live clone of " + ram + " frames took " + used + " more frames");

        // the counter's frame: each branch counts in its own
        assertTrue(TestCores.await(() -> dm.mfn(COUNTER_GPA >>> 12) != cm.mfn(COUNTER_GPA >>> 12), 5_000), "each has its counter frame");
        assertEquals(dm.mfn(QUIET_GPA >>> 12), cm.mfn(QUIET_GPA >>> 12), "a frame neither wrote stays shared");
        int quiet = dm.mfn(QUIET_GPA >>> 12);
        assertEquals(MachineMemory.SHARED, machine.owner(quiet));
        assertEquals(2, machine.shareRefs(quiet), "two p2m entries point at it");

        // the device door: a write through the clone's DomainMemory lands only in the clone
        cm.write32(QUIET_GPA, 0x22222222);
        assertEquals(0x22222222, cm.read32(QUIET_GPA));
        assertEquals(0x11111111, dm.read32(QUIET_GPA), "the original keeps its byte");
        assertEquals(MachineMemory.SHARED, machine.owner(dm.mfn(QUIET_GPA >>> 12)), "the original still maps the shared frame");
        assertEquals(c.id(), machine.owner(cm.mfn(QUIET_GPA >>> 12)), "the clone writes a frame of its own");
        // and the other way round, with a byte write across a page
        dm.write(QUIET_GPA + 0x1ffe, new byte[] {1, 2, 3, 4}, 0, 4);
        assertEquals(0, cm.read8(QUIET_GPA + 0x1ffe), "the clone does not see the original's write");
        assertEquals(3, dm.read8(QUIET_GPA + 0x2000));

        // the machine-address door has no domain to unshare for: it refuses a shared frame
        int stillShared = dm.mfn((QUIET_GPA >>> 12) + 4);
        assertEquals(MachineMemory.SHARED, machine.owner(stillShared));
        assertThrows(IllegalStateException.class, () -> MachineFrames.write32(machine, (long) stillShared << 12, 7));
        assertEquals(0, cm.read32(QUIET_GPA + 0x4000), "nothing landed");

        // the CPU door: each branch's counter frame holds its own count (a store into the other's would break this)
        fx.core().pause(d.id());
        fx.core().pause(c.id());
        int dv = counter.last(d.id()), dmv = dm.read32(COUNTER_GPA), cv = counter.last(c.id()), cmv = cm.read32(COUNTER_GPA);
        assertTrue(dmv - dv == 0 || dmv - dv == 1, "the original's memory holds its own count: " + dmv + " vs " + dv);
        assertTrue(cmv - cv == 0 || cmv - cv == 1, "the clone's memory holds its own count: " + cmv + " vs " + cv);
        fx.core().unpause(d.id());
        fx.core().unpause(c.id());

        // destroy the original: the clone goes on, shared frames stay until their last sharer
        int freeBeforeDestroy = machine.freeFrames();
        int cloneShared = cm.sharedFramesMapped();
        fx.core().destroy(d.id());
        assertTrue(TestCores.await(() -> fx.core().lookup(d.id()).isEmpty(), 5_000));
        cm.pendingUnrefs(); // frames the clone left earlier: their references go once its vCPU synced
        assertEquals(cloneShared, cm.sharedFramesMapped(), "the clone still maps its shared frames");
        assertEquals(cloneShared + cm.pendingUnrefs(), machine.sharedFrames(), "and only those (and what it left but still holds) are shared");
        assertEquals(1, machine.shareRefs(stillShared));
        assertTrue(machine.freeFrames() - freeBeforeDestroy < 64,
                "only the original's own (written) frames went back: " + (machine.freeFrames() - freeBeforeDestroy));
        int oc = counter.last(c.id());
        assertTrue(TestCores.await(() -> counter.last(c.id()) > oc + 10_000, 10_000), "the clone outlives the original: " + dmesg());
        assertEquals(0x22222222, cm.read32(QUIET_GPA));
        assertNull(counter.error.get(), "each domain's values in order");

        // a save + restore of the clone: the image holds its memory, shared frames included
        Path image = dir.resolve("twin.save");
        fx.core().save(c.id(), image, false);
        assertTrue(TestCores.await(() -> fx.core().lookup(c.id()).isEmpty(), 5_000));
        assertEquals(0, machine.sharedFrames(), "the last sharer gone, no frame is shared");
        assertEquals(initial, machine.freeFrames(), "every frame is back");
        Domain r = fx.core().restore(image, Map.of(), false);
        assertEquals(0x22222222, mem(r).read32(QUIET_GPA), "the clone's own write");
        assertEquals(0, mem(r).read8(QUIET_GPA + 0x1ffe), "not the original's");
        int or = counter.last(r.id());
        assertTrue(TestCores.await(() -> counter.last(r.id()) > or + 1000, 10_000), "the restored clone counts on");
        assertNull(counter.error.get());
        fx.core().destroy(r.id());
    }
}
