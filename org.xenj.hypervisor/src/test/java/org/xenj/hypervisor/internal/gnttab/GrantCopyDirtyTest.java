package org.xenj.hypervisor.internal.gnttab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_OKAY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_PERMIT_ACCESS;

import java.util.BitSet;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/** A backend's grant copy into a guest page (netback's receive path) marks the guest's page for migration. */
class GrantCopyDirtyTest {

    @Test
    void aGrantCopyToTheGuestMarksItsPage() {
        GrantTableStateTest.Host h = new GrantTableStateTest.Host();
        assertEquals(GNTST_OKAY, h.guest.setup(1, new int[1]));
        h.entry(5, GTF_PERMIT_ACCESS, 0, h.data[2]);
        DomainMemory mem = new DomainMemory(h.machine, GrantTableStateTest.GUEST);
        for (int i = 0; i < h.data.length; i++) {
            mem.mapFrame(0x10 + i, h.data[i]);
        }
        mem.startLogDirty();
        byte[] packet = new byte[1500];
        int rc = h.dom0.copyWithBuffer(GrantTableStateTest.GUEST, 5, 100, packet, 0, packet.length, true);
        assertEquals(GNTST_OKAY, rc);
        BitSet expected = new BitSet();
        expected.set(0x12);
        assertEquals(expected, mem.takeDirty(), "the granted page the copy wrote, and only it");
        mem.stopLogDirty();
    }
}
