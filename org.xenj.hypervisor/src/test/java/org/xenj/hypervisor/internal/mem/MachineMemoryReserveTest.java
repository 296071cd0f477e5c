package org.xenj.hypervisor.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.HypervisorException;

/** Reserved frames (Domain-0's share) are owned and counted, but cost the JVM no bytes. */
class MachineMemoryReserveTest {

    @Test
    void reservedFramesAreOwnedButUnbacked() {
        MachineMemory m = new MachineMemory(2048L << 20);
        int[] dom0 = m.reserve(0, 256 << 8); // 256 MiB
        assertEquals(m.totalFrames() - (256 << 8), m.freeFrames());
        for (int mfn : dom0) {
            assertEquals(0, m.owner(mfn));
        }
        assertNull(m.chunk(dom0[0]), "no host bytes behind a reserved frame");
        assertNull(m.chunk(dom0[dom0.length - 1]));

        int[] guest = m.allocate(1, 16);
        assertNotNull(m.chunk(guest[0]));
        assertThrows(HypervisorException.class, () -> m.reserve(2, m.freeFrames() + 1));

        m.transfer(dom0[5], 0, 1);
        assertNotNull(m.chunk(dom0[5]), "a transferred frame gets its bytes");
        assertEquals(1, m.owner(dom0[5]));
        m.free(1, new int[] {dom0[5]});

        int[] rest = new int[dom0.length - 1];
        for (int i = 0, k = 0; i < dom0.length; i++) {
            if (i != 5) {
                rest[k++] = dom0[i];
            }
        }
        m.free(0, rest);
        m.free(1, guest);
        assertEquals(m.totalFrames(), m.freeFrames());
        int[] again = m.allocate(3, 4);
        assertEquals(0, m.chunk(again[0])[MachineMemory.offset(again[0])], "reused frames are zero");
    }
}
