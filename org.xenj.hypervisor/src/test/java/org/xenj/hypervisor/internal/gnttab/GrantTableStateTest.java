package org.xenj.hypervisor.internal.gnttab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_HOST_MAP;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_READONLY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_OKAY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_PERMIT_ACCESS;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_READING;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_READONLY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GTF_WRITING;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.platform.StateFuzz;

/**
 * {@link GrantTableState}: a guest's grant table (entries, with the status bits of active maps)
 * and Domain 0's maps of it round-trip through bytes and through a fresh host (granter restored
 * first), where unmapping and mapping again then work as before; damaged records are refused with
 * the reason, and thousands of mutated ones are refused or restored exactly.
 */
class GrantTableStateTest {

    static final int GUEST = 1;

    /** A host with one guest (d1) and Domain 0; the guest's data frames are allocated first, so a second host has the same ones. */
    static final class Host {
        final MachineMemory machine = new MachineMemory(1 << 20);
        final GrantHub hub = new GrantHub(machine);
        final int[] data = machine.allocate(GUEST, 4);
        final GrantTable guest = hub.register(GUEST, frames(GUEST), GrantHostMapper.NONE, 4);
        final GrantTable dom0 = hub.register(0, frames(0), GrantHostMapper.NONE, 4);

        GrantFrames frames(int domid) {
            return new GrantFrames() {
                @Override
                public int allocateFrame() {
                    int mfn = machine.allocate(domid, 1)[0];
                    MachineFrames.zeroFrame(machine, mfn);
                    return mfn;
                }

                @Override
                public int ownFrameToMfn(int frame) {
                    return machine.owner(frame) == domid ? frame : -1;
                }

                @Override
                public int guestFrameOf(int mfn) {
                    return mfn;
                }
            };
        }

        /** The guest's entry {@code ref}: flags, grantee, frame. */
        void entry(int ref, int flags, int grantee, int frame) {
            long e = ((long) guest.frameMfn(ref / GrantTable.ENTRIES_PER_FRAME) << 12) + 8L * (ref % GrantTable.ENTRIES_PER_FRAME);
            MachineFrames.write32(machine, e + 4, frame);
            MachineFrames.write16(machine, e + 2, grantee);
            MachineFrames.write16(machine, e, flags);
        }

        int flags(int ref) {
            long e = ((long) guest.frameMfn(ref / GrantTable.ENTRIES_PER_FRAME) << 12) + 8L * (ref % GrantTable.ENTRIES_PER_FRAME);
            return MachineFrames.read16(machine, e);
        }
    }

    /** The guest grants three pages to Domain 0, which maps two of them (one twice, read-only). */
    static Host running() {
        Host h = new Host();
        assertEquals(GNTST_OKAY, h.guest.setup(2, new int[2]));
        h.entry(3, GTF_PERMIT_ACCESS, 0, h.data[0]);
        h.entry(4, GTF_PERMIT_ACCESS | GTF_READONLY, 0, h.data[1]);
        h.entry(700, GTF_PERMIT_ACCESS, 0, h.data[2]);
        assertTrue(h.dom0.map(GUEST, 3, GNTMAP_HOST_MAP, 0, null) >= 0);
        assertTrue(h.dom0.map(GUEST, 4, GNTMAP_HOST_MAP | GNTMAP_READONLY, 0x1000, null) >= 0);
        int third = h.dom0.map(GUEST, 4, GNTMAP_HOST_MAP | GNTMAP_READONLY, 0x2000, null);
        assertTrue(third >= 0);
        int gone = h.dom0.map(GUEST, 700, GNTMAP_HOST_MAP, 0x3000, null);
        assertEquals(GNTST_OKAY, h.dom0.unmap(gone, 0x3000)); // a hole in the maptrack
        return h;
    }

    @Test
    void aTableAndItsMapsRoundTripThroughBytesAndAFreshHost() throws IOException {
        Host a = running();
        GrantTableState g = a.guest.saveState(), d = a.dom0.saveState();
        assertEquals(2, g.frames().size());
        assertEquals(List.of(new GrantTableState.Pin(3, 0, 1), new GrantTableState.Pin(4, 2, 0)), g.pins());
        assertEquals(3, d.maps().size());
        assertEquals(g, GrantTableState.fromBytes(g.toBytes()));
        assertEquals(d, GrantTableState.fromBytes(d.toBytes()));

        Host b = new Host();
        b.guest.restoreState(GrantTableState.fromBytes(g.toBytes()));
        b.dom0.restoreState(GrantTableState.fromBytes(d.toBytes()));
        assertEquals(g, b.guest.saveState(), "the restored table holds exactly the record");
        assertEquals(d, b.dom0.saveState());
        assertEquals(GTF_PERMIT_ACCESS | GTF_WRITING, b.flags(3), "the status bits came with the entries");
        // and the maps work on: unmapping clears the status bit, mapping again sets it
        int handle = d.maps().get(0).handle();
        assertEquals(GNTST_OKAY, b.dom0.unmap(handle, 0));
        assertEquals(GTF_PERMIT_ACCESS, b.flags(3));
        assertTrue(b.dom0.map(GUEST, 3, GNTMAP_HOST_MAP, 0, null) >= 0);
        assertEquals(GTF_PERMIT_ACCESS | GTF_WRITING, b.flags(3));
        assertEquals(GTF_PERMIT_ACCESS | GTF_READONLY | GTF_READING, b.flags(4));
    }

    @Test
    void damagedRecordsAndImpossibleRestoresAreRefusedWithTheReason() throws IOException {
        Host a = running();
        byte[] good = a.dom0.saveState().toBytes();
        byte[] magic = good.clone();
        magic[3] = 0;
        assertTrue(assertThrows(IOException.class, () -> GrantTableState.fromBytes(magic)).getMessage().contains("not a grant"));
        byte[] version = good.clone();
        version[7] = 5;
        assertTrue(assertThrows(IOException.class, () -> GrantTableState.fromBytes(version)).getMessage().contains("version 5"));
        assertThrows(IOException.class, () -> GrantTableState.fromBytes(Arrays.copyOf(good, good.length - 1)));
        assertThrows(IllegalArgumentException.class, () -> new GrantTableState.Pin(3, 0, 0), "a pin of nobody");
        assertThrows(IllegalArgumentException.class, () -> new GrantTableState.Mapping(1, 1, 3, GNTMAP_READONLY, 0),
                "neither host nor device map");
        assertThrows(IllegalArgumentException.class, () -> new GrantTableState(4, List.of(), List.of(new GrantTableState.Pin(3,
                1, 0)), List.of()), "a pin on a table without frames");
        // Domain 0's maps restored before the guest granted anything: refused, nothing left behind
        Host b = new Host();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.dom0.restoreState(GrantTableState.fromBytes(good)));
        assertTrue(e.getMessage().contains("not granted"), e.getMessage());
        assertEquals(0, b.dom0.mappedCount());
        // and a table in use is not overwritten
        assertThrows(IllegalArgumentException.class, () -> a.dom0.restoreState(a.dom0.saveState()));
    }

    @Test
    void mutatedRecordsAreRefusedOrRestoredExactly() {
        Host a = running();
        List<byte[]> goods = List.of(a.guest.saveState().toBytes(), a.dom0.saveState().toBytes(),
                new GrantTableState(4, List.of(), List.of(), List.of()).toBytes());
        GrantTableState guestRecord = a.guest.saveState();
        int[] refusedOnRestore = {0};
        StateFuzz.run("grant table", 0x6e7, 3_000, goods, GrantTableState::fromBytes, (s, r) -> {
            Host b = new Host();
            b.guest.restoreState(guestRecord);
            GrantTable target = s.maps().isEmpty() && r.nextBoolean() ? b.guest : b.dom0;
            if (target == b.guest) {
                b.hub.unregister(GUEST);
                target = b.hub.register(GUEST, b.frames(GUEST), GrantHostMapper.NONE, 4);
            }
            try {
                target.restoreState(s);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
                refusedOnRestore[0]++;
                assertEquals(0, target.mappedCount(), "a refused restore leaves no map");
                return;
            }
            assertEquals(s, target.saveState(), "the restored table holds exactly the record");
            for (GrantTableState.Mapping m : s.maps()) {
                assertEquals(GNTST_OKAY, target.unmap(m.handle(), m.hostAddr()));
            }
        });
        System.out.printf("[fuzz] grant table: %d accepted records refused by the restore (maps of entries not granted)%n",
                refusedOnRestore[0]);
    }
}
