package org.xenj.hypervisor.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

/**
 * The TLB shootdown of a vCPU's unshare ({@link DomainMemory#awaitOthersRemapped}): the unsharing
 * vCPU's store must not go on while another running vCPU of the domain may still read the old copy
 * of the page (it could read a flag stored later on another page and then this page's old data).
 * Fake vCPUs stand for the TLBs, so the test decides when each "reaches its next block".
 */
class RemapShootdownTest {

    /** A vCPU's TLB as DomainMemory sees it. */
    static final class FakeTlb implements RemapSync {
        final DomainMemory memory;
        volatile long seen;
        volatile boolean active = true;
        volatile int selfSyncs;

        FakeTlb(DomainMemory memory) {
            this.memory = memory;
            memory.registerRemapSync(this);
            seen = memory.remapEpoch();
        }

        @Override
        public long remapSeen() {
            return seen;
        }

        @Override
        public void remapSeen(long epoch) {
            seen = epoch;
        }

        @Override
        public boolean active() {
            return active;
        }

        @Override
        public void syncRemap() {
            selfSyncs++;
            seen = memory.remapEpoch();
        }
    }

    private static DomainMemory sharedPair(MachineMemory machine) {
        DomainMemory original = new DomainMemory(machine, 1);
        original.populate(0, 4);
        DomainMemory clone = new DomainMemory(machine, 2);
        clone.populate(0, 4); // as a clone is created: its own RAM first, replaced by the shared frames
        assertEquals(4, clone.adoptShared(original.shareForClone()));
        clone.remapWaitNanos = 60_000_000_000L; // a minute: whether a waiter goes on must not depend on the host's load
        return clone;
    }

    @Test
    void theUnsharingVcpuWaitsUntilEveryOtherRunningVcpuDroppedItsTranslations() throws Exception {
        MachineMemory machine = new MachineMemory(1 << 20);
        DomainMemory clone = sharedPair(machine);
        FakeTlb writer = new FakeTlb(clone);
        FakeTlb reader = new FakeTlb(clone);
        FakeTlb halted = new FakeTlb(clone);
        halted.active = false; // not in its run loop: it syncs before its next access, nobody waits for it
        assertEquals(MachineMemory.SHARED, machine.owner(clone.mfn(1)));
        clone.unshare(1, writer);
        assertTrue(reader.remapSeen() < clone.remapEpoch(), "the reader has not seen the remap yet");
        AtomicBoolean returned = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            clone.awaitOthersRemapped(writer);
            returned.set(true);
            done.countDown();
        });
        t.start();
        // the reader is "inside a block": the writer must still be waiting when it gets to its next one
        assertFalse(done.await(50, TimeUnit.MILLISECONDS),
                "the writer went on while the reader could still read the old frame");
        reader.syncRemap();
        assertTrue(done.await(10, TimeUnit.SECONDS), "the writer did not go on after the reader synced");
        assertTrue(returned.get());
        assertEquals(0, clone.remapWaitTimeouts());
    }

    @Test
    void aVcpuThatNeverSyncsDelaysTheWriterOnlyUpToTheBoundAndIsCounted() {
        MachineMemory machine = new MachineMemory(1 << 20);
        DomainMemory clone = sharedPair(machine);
        FakeTlb writer = new FakeTlb(clone);
        FakeTlb stuck = new FakeTlb(clone);
        clone.remapWaitNanos = 1_000_000L;
        clone.unshare(2, writer);
        clone.awaitOthersRemapped(writer); // the stuck vCPU never gets to its next block (say, waits for a lock the writer holds)
        assertEquals(1, clone.remapWaitTimeouts());
        assertTrue(stuck.remapSeen() < clone.remapEpoch());
        // the old frame stays referenced until the stuck vCPU syncs: its stale reads see the old copy, never a reused frame
        assertEquals(1, clone.pendingUnrefs());
        stuck.syncRemap();
        assertEquals(0, clone.pendingUnrefs());
    }

    @Test
    void twoVcpusUnsharingAtOnceDoNotWaitForEachOther() throws Exception {
        MachineMemory machine = new MachineMemory(1 << 20);
        DomainMemory clone = sharedPair(machine);
        FakeTlb a = new FakeTlb(clone);
        FakeTlb b = new FakeTlb(clone);
        clone.unshare(0, a);
        clone.unshare(1, b); // a has not seen b's remap, b not a's (b was synced when it asked: it has now)
        Thread ta = new Thread(() -> clone.awaitOthersRemapped(a));
        Thread tb = new Thread(() -> clone.awaitOthersRemapped(b));
        ta.start();
        tb.start();
        ta.join(10_000);
        tb.join(10_000);
        assertFalse(ta.isAlive() || tb.isAlive());
        assertEquals(0, clone.remapWaitTimeouts(), "each waiter keeps its own translations current, so neither runs out of time");
    }
}
