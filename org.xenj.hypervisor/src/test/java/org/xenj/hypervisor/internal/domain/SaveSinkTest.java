package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.save.SaveStream;

/**
 * The restore's page sink and page source look at frames in place: a ZERO_PAGES entry leaves a
 * frame that is zero alone (no RAM write counted) but zeroes one the builder or an earlier round
 * wrote; a page source reports a zero frame without copying it and copies every other one.
 */
class SaveSinkTest {

    @Test
    void aZeroEntryZeroesWrittenFramesAndLeavesZeroOnesAlone() {
        MachineMemory machine = new MachineMemory(16 << 20);
        DomainMemory mem = new DomainMemory(machine, 1);
        mem.populate(0, 4);
        mem.write32(1 * 4096 + 100, 0x12345678); // as the builder's firmware or an earlier round's page
        SaveStream.PageSink sink = SaveRestore.sink(mem);
        long writes = machine.ramWrites();
        sink.writeZero(0);
        assertEquals(writes, machine.ramWrites(), "a zero frame is not written");
        sink.writeZero(1);
        assertEquals(0, mem.read32(1 * 4096 + 100), "a written frame is zeroed");
        assertEquals(writes + 1, machine.ramWrites(), "and that counts as a RAM write (cached code compares again)");

        mem.write32(2 * 4096 + 4092, 7);
        SaveStream.PageSource src = SaveRestore.pages(mem);
        byte[] dst = new byte[2 * 4096];
        java.util.Arrays.fill(dst, (byte) 0x55);
        assertEquals(SaveStream.ZERO_PAGE, src.readNonZero(0, dst, 0));
        assertEquals(0x55, dst[0], "a zero frame is not copied");
        assertEquals(SaveStream.COPIED, src.readNonZero(2, dst, 4096));
        assertEquals(7, dst[2 * 4096 - 4], "a frame with data is copied");
        assertEquals(SaveStream.ABSENT, src.readNonZero(9, dst, 0), "an unpopulated frame is absent");
    }
}
