package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenj.hypervisor.internal.mem.MachineFrames;

/**
 * A guest's LOCK-prefixed read-modify-writes (and XCHG with memory) are atomic with respect to
 * the hypervisor's atomic updates of the same word ({@link MachineFrames#getAndOr32} and
 * friends: event channel pending bits, grant flags), as they are on real hardware.
 *
 * <p>Found with Mini-OS (../shared/guests/mini-os): its event handler clears the blkfront port's
 * pending bit with {@code lock btr} while netback, on another thread, set the netfront port's bit
 * in the same word. The interpreter performed the LOCK BTR as a plain read and a plain write, so
 * the netfront bit was written back cleared: the event was lost, and since the frontend's
 * {@code rsp_event} had already been passed, netback never notified again — Mini-OS stopped
 * receiving after frame 96 of 100.
 *
 * <p>Here the guest loops over one locked instruction on a word while another thread toggles bit
 * 31 of that word with getAndOr32/getAndAnd32 and checks each old value it gets back: a toggle the
 * guest wrote back over shows as a wrong old bit. Concurrency cannot be forced, so the test can
 * miss a broken CPU when the host thread never runs during the guest's loop; when it did run (the
 * test asserts at least 1,000 toggles), the interpreter without the lock lost some every time
 * it was tried.
 */
class LockedRmwAtomicityTest extends CpuTestSupport {

    private static final int WORD = 0x2000;
    private static final int ITERATIONS = 1_500_000;

    @ParameterizedTest
    @ValueSource(strings = {
        "lock inc dword [0x2000]",              // readRmw/writeRmw (group FF)
        "lock btr dword [0x2000], 5\n lock bts dword [0x2000], 5", // bitOp, Mini-OS's clear_evtchn / set
        "mov eax, [0x2000]\n mov ebx, eax\n inc ebx\n lock cmpxchg [0x2000], ebx", // CMPXCHG
        "lock or dword [0x2000], 1",              // ALU with r/m destination
    })
    void hostBitTogglesSurviveTheGuestsLockedInstructions(String body) throws Exception {
        flat32(0x1000, "mov ecx, " + ITERATIONS + "\nloop: " + body + "\n dec ecx\n jnz loop\n hlt");
        var machine = mem.machine();
        long ma = ((long) mem.mfn(WORD >>> 12) << 12) | (WORD & 0xfff);
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong toggles = new AtomicLong();
        AtomicLong lost = new AtomicLong();
        Thread host = new Thread(() -> {
            int bit = 1 << 31;
            boolean set = false; // what bit 31 must be, since only this thread changes it
            while (!done.get()) {
                int old = set ? MachineFrames.getAndAnd32(machine, ma, ~bit) : MachineFrames.getAndOr32(machine, ma, bit);
                if (((old & bit) != 0) != set) {
                    lost.incrementAndGet(); // the guest wrote an older value of the word back
                }
                set = !set;
                toggles.incrementAndGet();
            }
        }, "host-toggler");
        host.start();
        try {
            int r = cpu.runTest(20_000_000);
            assertEquals(-1, r, "the guest loop ends at HLT: " + cpu.stateString());
        } finally {
            done.set(true);
            host.join();
        }
        System.out.printf("[locked-rmw] %-60s host toggles %d, lost %d%n", body.replace('\n', ';'), toggles.get(), lost.get());
        assertEquals(0, lost.get(), "host updates the guest's locked instruction wrote over (of " + toggles.get() + ")");
        assertTrue(toggles.get() >= 1000, "the host thread ran during the guest loop: " + toggles.get());
        if (body.startsWith("lock inc")) {
            assertEquals(ITERATIONS, MachineFrames.read32(machine, ma) & 0x7fffffff, "no guest increment lost either");
        }
    }
}
