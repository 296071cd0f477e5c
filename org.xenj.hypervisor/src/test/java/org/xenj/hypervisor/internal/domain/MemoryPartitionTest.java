package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.HostInfo;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.testsupport.TestCores;

class MemoryPartitionTest {

    private TestCores.Fixture fx;
    private HypervisorCore hv;

    @BeforeEach
    void start() {
        fx = TestCores.start(1);
        hv = fx.core();
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void infoReportsTotalAndFreeAndDomain0OwnsItsShare() {
        HostInfo info = hv.info();
        assertEquals(64 * 1024, info.totalMemoryKiB());
        assertEquals(56 * 1024, info.freeMemoryKiB());
        MachineMemory m = hv.machineMemory();
        int owned0 = 0;
        for (int mfn = 0; mfn < m.totalFrames(); mfn++) {
            if (m.owner(mfn) == 0) {
                owned0++;
            }
        }
        assertEquals(8 * 256, owned0);
    }

    @Test
    void eachFrameHasOneOwnerAndADomainSeesOnlyItsOwn() {
        Domain a = hv.create(TestCores.workload("a", "idle").memoryMiB(8).build());
        Domain b = hv.create(TestCores.workload("b", "idle").memoryMiB(12).build());
        assertEquals(8 * 1024, a.memoryKiB());
        assertEquals(12 * 1024, b.memoryKiB());
        MachineMemory m = hv.machineMemory();
        DomainMemory ma = contextOf(a).memory();
        DomainMemory mb = contextOf(b).memory();
        Set<Integer> framesA = new HashSet<>();
        for (int gfn = 0; gfn < ma.gfnLimit(); gfn++) {
            int mfn = ma.mfn(gfn);
            assertEquals(a.id(), m.owner(mfn));
            framesA.add(mfn);
        }
        for (int gfn = 0; gfn < mb.gfnLimit(); gfn++) {
            int mfn = mb.mfn(gfn);
            assertEquals(b.id(), m.owner(mfn));
            assertFalse(framesA.contains(mfn));
        }
        // a write by one domain is invisible to the other, and past its RAM is refused
        ma.write32(0x1000, 0xCAFEBABE);
        assertEquals(0, mb.read32(0x1000));
        assertEquals(0xCAFEBABE, ma.read32(0x1000));
        assertThrows(IndexOutOfBoundsException.class, () -> ma.read8(8L << 20));
        assertEquals(64 * 1024 - 8 * 1024 - 20 * 1024, hv.info().freeMemoryKiB());
    }

    @Test
    void creationFailsClearlyWhenMemoryIsShortAndChangesNothing() {
        hv.create(TestCores.workload("big", "idle").memoryMiB(40).build());
        long free = hv.info().freeMemoryKiB();
        int domains = hv.list().size();
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> hv.create(TestCores.workload("toobig", "idle").memoryMiB(32).build()));
        assertTrue(e.getMessage().contains("toobig"), e.getMessage());
        assertTrue(e.getMessage().contains("asked for 32768 KiB"), e.getMessage());
        assertTrue(e.getMessage().contains(free + " KiB free"), e.getMessage());
        assertEquals(free, hv.info().freeMemoryKiB());
        assertEquals(domains, hv.list().size());
        assertTrue(hv.lookup("toobig").isEmpty());
        // the next domain still gets the next id and the memory that is there
        Domain ok = hv.create(TestCores.workload("fits", "idle").memoryMiB(16).build());
        assertEquals(2, ok.id());
    }

    @Test
    void destroyReturnsEveryFrameScrubbed() {
        long free = hv.info().freeMemoryKiB();
        Domain a = hv.create(TestCores.workload("a", "idle").memoryMiB(8).build());
        DomainMemory ma = contextOf(a).memory();
        int mfn = ma.mfn(3);
        ma.write32(3 << 12, 0x12345678);
        hv.destroy(a.id());
        assertEquals(free, hv.info().freeMemoryKiB());
        assertEquals(MachineMemory.FREE, hv.machineMemory().owner(mfn));
        Domain b = hv.create(TestCores.workload("b", "idle").memoryMiB(8).build());
        DomainMemory mb = contextOf(b).memory();
        for (int gfn = 0; gfn < mb.gfnLimit(); gfn++) {
            if (mb.mfn(gfn) == mfn) {
                assertEquals(0, mb.read32((long) gfn << 12 | 0), "a reused frame comes back zeroed");
            }
        }
    }

    private GuestContext contextOf(Domain d) {
        return ((DomainImpl) d).context;
    }
}
