package org.xenj.hypervisor.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;

import org.junit.jupiter.api.Test;

/**
 * Log-dirty mode for the writers that are not the CPU: device DMA and loaders through the domain's
 * {@link DomainMemory} (IDE, RTL8139 and NE2000 reach guest RAM through it as {@code GuestMemory}),
 * the hypervisor's own writes into guest frames through {@link MachineFrames} (hypercall results,
 * event-channel bits, shared info, the xenstore and console rings, grant copies), and a backend
 * writing a guest frame mapped into Domain 0's p2m (a grant map). Each marks the guest's frame; other
 * domains' frames are never reported; nothing is marked while nobody logs.
 */
class LogDirtyWritersTest {

    private final MachineMemory machine = new MachineMemory(8L << 20);
    private final DomainMemory guest = new DomainMemory(machine, 1);
    private final DomainMemory dom0 = new DomainMemory(machine, 0);

    LogDirtyWritersTest() {
        guest.populate(0, 256);
        dom0.populate(0, 16);
    }

    private static BitSet pages(int... gfns) {
        BitSet b = new BitSet();
        for (int g : gfns) {
            b.set(g);
        }
        return b;
    }

    @Test
    void deviceDmaThroughGuestMemoryMarksEveryPageItSpans() {
        guest.startLogDirty();
        guest.write(0x10ff0, new byte[64], 0, 64); // spans frames 0x10 and 0x11
        guest.write8(0x20000, 1);
        guest.write16(0x21ffe, 0x1234);
        guest.write32(0x22ffe, 0x12345678); // spans 0x22 and 0x23
        guest.read32(0x30000);
        assertEquals(pages(0x10, 0x11, 0x20, 0x21, 0x22, 0x23), guest.takeDirty());
        assertEquals(new BitSet(), guest.takeDirty(), "a take clears");
        guest.stopLogDirty();
    }

    @Test
    void hypervisorWritesByMachineAddressMarkTheOwnersFrame() {
        guest.startLogDirty();
        long ma = (long) guest.mfn(0x40) << 12;
        MachineFrames.write32(machine, ma + 8, 1);
        MachineFrames.getAndOr32(machine, ((long) guest.mfn(0x41) << 12) + 4, 1 << 3); // an event-channel pending bit
        MachineFrames.copyIn(machine, (long) guest.mfn(0x42) << 12, new byte[16], 0, 16); // a ring or grant copy
        MachineFrames.write64(machine, (long) guest.mfn(0x43) << 12, -1L);
        MachineFrames.compareAndSet16(machine, (long) guest.mfn(0x44) << 12, 0, 7); // grant entry flags
        MachineFrames.write8(machine, ((long) guest.mfn(0x45) << 12) + 3, 1);
        MachineFrames.write16(machine, ((long) guest.mfn(0x46) << 12) + 2, 1);
        MachineFrames.zeroFrame(machine, guest.mfn(0x47));
        assertEquals(pages(0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47), guest.takeDirty());
        guest.stopLogDirty();
    }

    @Test
    void aBackendWritingAGrantMappedFrameMarksTheGuestsPage() {
        guest.startLogDirty();
        dom0.mapFrame(0x100, guest.mfn(0x50)); // blkback/netback map a granted page
        dom0.write(0x100000, new byte[4096], 0, 4096);
        dom0.write32(0x8000, 5); // Domain 0's own frame: not the guest's
        assertEquals(pages(0x50), guest.takeDirty());
        assertEquals(pages(0x8), dom0.takeDirty(), "Domain 0's view: its own frame; the mapped frame is the guest's");
        guest.stopLogDirty();
    }

    @Test
    void nothingIsMarkedWhileNobodyLogsAndLoggingTwiceIsRefused() {
        guest.write32(0x60000, 1);
        guest.startLogDirty();
        assertFalse(guest.isDirty(0x60), "marks from before logging started are cleared");
        assertThrows(IllegalStateException.class, guest::startLogDirty);
        guest.stopLogDirty();
        assertFalse(machine.dirtyLog().on());
        guest.write32(0x61000, 1);
        assertFalse(guest.isDirty(0x61), "no mark while nobody logs");
    }
}
