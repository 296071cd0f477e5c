package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.hypercall.GuestFault;
import org.xenj.hypervisor.internal.mem.MachineFrames;

class GrantTableHypercallTest {

    private final PvFixture f = new PvFixture();
    private final PvFixture.Dom a = f.pv(1);
    private final PvFixture.Dom b = f.pv(2);
    private final PvFixture.Dom c = f.pv(3);

    /** Sets up one grant frame of {@code d} and maps it at scratch page 8; returns its va. */
    private int grantTable(PvFixture.Dom d) {
        int op = d.scratch(1);
        int list = d.scratch(2);
        d.hc.memory.write16(op, DOMID_SELF);
        d.hc.memory.write32(op + 4, 1);
        d.hc.memory.write32(op + 12, list);
        assertEquals(0, d.call(HC_GRANT_TABLE_OP, GNTTABOP_SETUP_TABLE, op, 1, 0, 0));
        assertEquals(GNTST_OKAY, (short) d.hc.memory.read16(op + 8));
        int frame = d.hc.memory.read32(list);
        int va = d.scratch(8);
        long pte = (long) frame << 12 | 0x67;
        assertEquals(0, d.call(HC_UPDATE_VA_MAPPING, va, (int) pte, 0, UVMF_INVLPG, 0));
        return va;
    }

    private void grant(PvFixture.Dom d, int tableVa, int ref, int toDom, int frame, boolean ro) {
        int e = tableVa + 8 * ref;
        d.hc.memory.write16(e + 2, toDom);
        d.hc.memory.write32(e + 4, frame);
        d.hc.memory.write16(e, GTF_PERMIT_ACCESS | (ro ? GTF_READONLY : 0));
    }

    /** Maps ref of granter into {@code d} at {@code hostVa}; returns the op address (status at +18, handle at +20). */
    private int map(PvFixture.Dom d, int granter, int ref, int hostVa, int flags) {
        int op = d.scratch(3);
        d.hc.memory.write64(op, hostVa & 0xffffffffL);
        d.hc.memory.write32(op + 8, flags);
        d.hc.memory.write32(op + 12, ref);
        d.hc.memory.write16(op + 16, granter);
        assertEquals(0, d.call(HC_GRANT_TABLE_OP, GNTTABOP_MAP_GRANT_REF, op, 1, 0, 0));
        return op;
    }

    private int unmap(PvFixture.Dom d, int hostVa, int handle) {
        int op = d.scratch(4);
        d.hc.memory.write64(op, hostVa & 0xffffffffL);
        d.hc.memory.write32(op + 16, handle);
        assertEquals(0, d.call(HC_GRANT_TABLE_OP, GNTTABOP_UNMAP_GRANT_REF, op, 1, 0, 0));
        return (short) d.hc.memory.read16(op + 20);
    }

    @Test
    void grantedPageIsSharedAfterMapAndGoneAfterUnmap() {
        int table = grantTable(a);
        int page = a.scratch(10);
        int frame = a.mfnOfVa(page);
        a.hc.memory.write32(page, 0xfeedf00d);
        grant(a, table, 5, 2, frame, false);
        int hostVa = b.scratch(12);
        // the target va must be empty: clear b's own mapping there first
        assertEquals(0, b.call(HC_UPDATE_VA_MAPPING, hostVa, 0, 0, UVMF_INVLPG, 0));
        int op = map(b, 1, 5, hostVa, GNTMAP_HOST_MAP);
        assertEquals(GNTST_OKAY, (short) b.hc.memory.read16(op + 18));
        int handle = b.hc.memory.read32(op + 20);
        assertEquals(0xfeedf00d, b.hc.memory.read32(hostVa));
        b.hc.memory.write32(hostVa + 4, 0x1234);
        assertEquals(0x1234, a.hc.memory.read32(page + 4));
        assertEquals(GTF_PERMIT_ACCESS | GTF_WRITING, a.hc.memory.read16(table + 40));
        assertEquals(1, a.xen.gnttab.pins(5));
        // mapping again at the same address is refused; unmapping twice is bad_handle
        int op2 = map(b, 1, 5, hostVa, GNTMAP_HOST_MAP);
        assertEquals(GNTST_GENERAL_ERROR, (short) b.hc.memory.read16(op2 + 18));
        assertEquals(1, a.xen.gnttab.pins(5));
        assertEquals(GNTST_OKAY, unmap(b, hostVa, handle));
        assertEquals(GNTST_BAD_HANDLE, unmap(b, hostVa, handle));
        assertEquals(GTF_PERMIT_ACCESS, a.hc.memory.read16(table + 40));
        assertThrows(GuestFault.class, () -> b.hc.memory.read32(hostVa));
    }

    @Test
    void refsOfOtherDomainsAndBadRefsAreRefused() {
        int table = grantTable(a);
        int frame = a.mfnOfVa(a.scratch(10));
        grant(a, table, 3, 3, frame, false); // granted to domain 3, not 2
        int hostVa = b.scratch(12);
        b.call(HC_UPDATE_VA_MAPPING, hostVa, 0, 0, 0, 0);
        assertEquals(GNTST_PERMISSION_DENIED, (short) b.hc.memory.read16(map(b, 1, 3, hostVa, GNTMAP_HOST_MAP) + 18));
        assertEquals(GNTST_BAD_GNTREF, (short) b.hc.memory.read16(map(b, 1, 512, hostVa, GNTMAP_HOST_MAP) + 18));
        assertEquals(GNTST_BAD_GNTREF, (short) b.hc.memory.read16(map(b, 1, -1, hostVa, GNTMAP_HOST_MAP) + 18));
        assertEquals(GNTST_BAD_DOMAIN, (short) b.hc.memory.read16(map(b, 77, 3, hostVa, GNTMAP_HOST_MAP) + 18));
        assertEquals(GNTST_PERMISSION_DENIED, (short) b.hc.memory.read16(map(b, 1, 4, hostVa, GNTMAP_HOST_MAP) + 18), "empty entry");
        grant(a, table, 6, 2, frame, true);
        assertEquals(GNTST_PERMISSION_DENIED, (short) b.hc.memory.read16(map(b, 1, 6, hostVa, GNTMAP_HOST_MAP) + 18),
                "writable map of a read-only grant");
        assertEquals(0, a.xen.gnttab.pins(3));
        assertEquals(0, b.xen.gnttab.mappedCount());
    }

    @Test
    void grantOfAFrameTheGranterDoesNotOwnIsBadPage() {
        int table = grantTable(a);
        grant(a, table, 2, 2, c.mfnOfVa(c.scratch(10)), false);
        int hostVa = b.scratch(12);
        b.call(HC_UPDATE_VA_MAPPING, hostVa, 0, 0, 0, 0);
        assertEquals(GNTST_BAD_PAGE, (short) b.hc.memory.read16(map(b, 1, 2, hostVa, GNTMAP_HOST_MAP) + 18));
    }

    @Test
    void copyThroughAGrantRespectsReadOnlyAndBounds() {
        int table = grantTable(a);
        int page = a.scratch(10);
        a.hc.memory.write32(page + 100, 0xabcdef01);
        grant(a, table, 1, 2, a.mfnOfVa(page), true);
        int dst = b.scratch(11);
        int op = b.scratch(3);
        var m = b.hc.memory;
        m.write32(op, 1);
        m.write16(op + 4, 1);
        m.write16(op + 6, 100);
        m.write32(op + 8, b.mfnOfVa(dst));
        m.write16(op + 12, DOMID_SELF);
        m.write16(op + 14, 8);
        m.write16(op + 16, 4);
        m.write16(op + 18, GNTCOPY_SOURCE_GREF);
        assertEquals(0, b.call(HC_GRANT_TABLE_OP, GNTTABOP_COPY, op, 1, 0, 0));
        assertEquals(GNTST_OKAY, (short) m.read16(op + 20));
        assertEquals(0xabcdef01, m.read32(dst + 8));
        // write into the read-only grant: refused
        m.write16(op + 18, GNTCOPY_DEST_GREF);
        m.write32(op + 8, 1);
        m.write16(op + 12, 1);
        m.write32(op, b.mfnOfVa(dst));
        m.write16(op + 4, DOMID_SELF);
        assertEquals(0, b.call(HC_GRANT_TABLE_OP, GNTTABOP_COPY, op, 1, 0, 0));
        assertEquals(GNTST_PERMISSION_DENIED, (short) m.read16(op + 20));
        m.write16(op + 14, 4094);
        m.write16(op + 18, GNTCOPY_SOURCE_GREF);
        assertEquals(0, b.call(HC_GRANT_TABLE_OP, GNTTABOP_COPY, op, 1, 0, 0));
        assertEquals(GNTST_BAD_COPY_ARG, (short) m.read16(op + 20));
        // raw frames of another domain: only Dom0 may
        m.write16(op + 18, 0);
        m.write32(op, a.mfnOfVa(page));
        m.write16(op + 4, 1);
        m.write16(op + 14, 0);
        assertEquals(0, b.call(HC_GRANT_TABLE_OP, GNTTABOP_COPY, op, 1, 0, 0));
        assertEquals(GNTST_PERMISSION_DENIED, (short) m.read16(op + 20));
    }

    @Test
    void setVersionIsEnosysAndQuerySizeReportsFrames() {
        assertEquals(-ENOSYS, a.call(HC_GRANT_TABLE_OP, GNTTABOP_SET_VERSION, a.scratch(1), 1, 0, 0));
        grantTable(a);
        int op = a.scratch(1);
        a.hc.memory.write16(op, DOMID_SELF);
        assertEquals(0, a.call(HC_GRANT_TABLE_OP, GNTTABOP_QUERY_SIZE, op, 1, 0, 0));
        assertEquals(1, a.hc.memory.read32(op + 4));
        assertEquals(32, a.hc.memory.read32(op + 8));
        a.hc.memory.write16(op, 2);
        assertEquals(0, a.call(HC_GRANT_TABLE_OP, GNTTABOP_QUERY_SIZE, op, 1, 0, 0));
        assertEquals(GNTST_PERMISSION_DENIED, (short) a.hc.memory.read16(op + 12));
        assertEquals(-EFAULT, a.call(HC_GRANT_TABLE_OP, GNTTABOP_QUERY_SIZE, 0x1000, 1, 0, 0));
        assertEquals(-EINVAL, a.call(HC_GRANT_TABLE_OP, GNTTABOP_MAP_GRANT_REF, op, -1, 0, 0));
    }

    @Test
    void dom0BackendMapsByHandleAndLosesTheMappingWhenTheGranterDies() {
        int table = grantTable(a);
        int page = a.scratch(10);
        a.hc.memory.write32(page, 42);
        grant(a, table, 7, 0, a.mfnOfVa(page), false);
        int h = f.host.dom0Grants.map(1, 7, GNTMAP_HOST_MAP, 0, null);
        assertTrue(h >= 0);
        int mfn = f.host.dom0Grants.mappedMfn(h);
        assertEquals(42, MachineFrames.read32(f.machine, (long) mfn << 12));
        assertTrue(f.host.dom0Grants.map(1, 8, GNTMAP_HOST_MAP, 0, null) < 0);
        f.host.destroyDomain(1);
        assertEquals(-1, f.host.dom0Grants.mappedMfn(h), "revoked with the granter");
    }
}
