package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.util.List;
import java.util.zip.CRC32;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Every hypercall (and sub-op) that takes a guest pointer, called with pointers the guest may not
 * use: unmapped, the read-only page tables and M2P (for ops that write), the hypervisor area,
 * and a range running off the end of the address space. Each must answer -EFAULT and leave the
 * domain's memory, ports, grants and page types as they were.
 */
class BadPointerTest {

    /** {name, hypercall, arg1 (sub-op) or -1 when the pointer is arg1, pointer position (1-based), whether the op writes}. */
    static Stream<Arguments> ops() {
        return Stream.of(
                op("console_io write", HC_CONSOLE_IO, CONSOLEIO_WRITE, 3, false, 64),
                op("sched_op shutdown", HC_SCHED_OP, SCHEDOP_SHUTDOWN, 2, false, 0),
                op("sched_op poll", HC_SCHED_OP, SCHEDOP_POLL, 2, false, 0),
                op("sched_op remote_shutdown", HC_SCHED_OP, SCHEDOP_REMOTE_SHUTDOWN, 2, false, 0),
                op("evtchn alloc_unbound", HC_EVENT_CHANNEL_OP, EVTCHNOP_ALLOC_UNBOUND, 2, true, 0),
                op("evtchn bind_interdomain", HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_INTERDOMAIN, 2, true, 0),
                op("evtchn bind_virq", HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VIRQ, 2, true, 0),
                op("evtchn bind_ipi", HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_IPI, 2, true, 0),
                op("evtchn close", HC_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE, 2, false, 0),
                op("evtchn send", HC_EVENT_CHANNEL_OP, EVTCHNOP_SEND, 2, false, 0),
                op("evtchn status", HC_EVENT_CHANNEL_OP, EVTCHNOP_STATUS, 2, true, 0),
                op("evtchn unmask", HC_EVENT_CHANNEL_OP, EVTCHNOP_UNMASK, 2, false, 0),
                op("evtchn bind_vcpu", HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VCPU, 2, false, 0),
                op("gnttab setup_table", HC_GRANT_TABLE_OP, GNTTABOP_SETUP_TABLE, 2, true, 1),
                op("gnttab query_size", HC_GRANT_TABLE_OP, GNTTABOP_QUERY_SIZE, 2, true, 1),
                op("gnttab map_grant_ref", HC_GRANT_TABLE_OP, GNTTABOP_MAP_GRANT_REF, 2, true, 1),
                op("gnttab unmap_grant_ref", HC_GRANT_TABLE_OP, GNTTABOP_UNMAP_GRANT_REF, 2, true, 1),
                op("gnttab copy", HC_GRANT_TABLE_OP, GNTTABOP_COPY, 2, true, 1),
                op("mmu_update", HC_MMU_UPDATE, -1, 1, false, 1),
                op("mmuext_op", HC_MMUEXT_OP, -1, 1, false, 1),
                op("multicall", HC_MULTICALL, -1, 1, true, 1),
                op("memory_op increase", HC_MEMORY_OP, XENMEM_INCREASE_RESERVATION, 2, false, 0),
                op("memory_op decrease", HC_MEMORY_OP, XENMEM_DECREASE_RESERVATION, 2, false, 0),
                op("memory_op populate", HC_MEMORY_OP, XENMEM_POPULATE_PHYSMAP, 2, false, 0),
                op("memory_op current_reservation", HC_MEMORY_OP, XENMEM_CURRENT_RESERVATION, 2, false, 0),
                op("memory_op maximum_reservation", HC_MEMORY_OP, XENMEM_MAXIMUM_RESERVATION, 2, false, 0),
                op("memory_op add_to_physmap", HC_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, 2, false, 0),
                op("memory_op memory_map", HC_MEMORY_OP, XENMEM_MEMORY_MAP, 2, true, 0),
                op("memory_op machphys_mapping", HC_MEMORY_OP, XENMEM_MACHPHYS_MAPPING, 2, true, 0),
                op("set_trap_table", HC_SET_TRAP_TABLE, -1, 1, false, 0),
                op("callback_op register", HC_CALLBACK_OP, CALLBACKOP_REGISTER, 2, false, 0),
                op("callback_op unregister", HC_CALLBACK_OP, CALLBACKOP_UNREGISTER, 2, false, 0),
                op("set_gdt", HC_SET_GDT, -1, 1, false, 16),
                op("vcpu_op set_singleshot_timer", HC_VCPU_OP, VCPUOP_SET_SINGLESHOT_TIMER, 3, false, 0),
                op("vcpu_op set_periodic_timer", HC_VCPU_OP, VCPUOP_SET_PERIODIC_TIMER, 3, false, 0),
                op("xen_version extraversion", HC_XEN_VERSION, XENVER_EXTRAVERSION, 2, true, 0),
                op("xen_version compile_info", HC_XEN_VERSION, XENVER_COMPILE_INFO, 2, true, 0),
                op("xen_version capabilities", HC_XEN_VERSION, XENVER_CAPABILITIES, 2, true, 0),
                op("xen_version changeset", HC_XEN_VERSION, XENVER_CHANGESET, 2, true, 0),
                op("xen_version platform_parameters", HC_XEN_VERSION, XENVER_PLATFORM_PARAMETERS, 2, true, 0),
                op("xen_version get_features", HC_XEN_VERSION, XENVER_GET_FEATURES, 2, true, 0),
                op("xen_version guest_handle", HC_XEN_VERSION, XENVER_GUEST_HANDLE, 2, true, 0),
                op("xen_version commandline", HC_XEN_VERSION, XENVER_COMMANDLINE, 2, true, 0),
                op("physdev_op set_iopl", HC_PHYSDEV_OP, PHYSDEVOP_SET_IOPL, 2, false, 0),
                op("physdev_op irq_status_query", HC_PHYSDEV_OP, PHYSDEVOP_IRQ_STATUS_QUERY, 2, true, 0));
    }

    private static Arguments op(String name, int nr, int sub, int pos, boolean writes, int count) {
        return Arguments.of(name, nr, sub, pos, writes, count);
    }

    private static long hash(MachineMemory m, int domid) {
        CRC32 crc = new CRC32();
        for (int mfn = 0; mfn < m.totalFrames(); mfn++) {
            if (m.owner(mfn) == domid) {
                crc.update(m.chunk(mfn), MachineMemory.offset(mfn), MachineMemory.PAGE_SIZE);
            }
        }
        return crc.getValue();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ops")
    void badPointersAreEfaultAndChangeNothing(String name, int nr, int sub, int pos, boolean writes, int count) {
        PvFixture f = new PvFixture();
        PvFixture.Dom a = f.pv(1);
        a.ctx.discard = true;
        List<Integer> bad = new java.util.ArrayList<>(List.of(0, 0x1000, HYPERVISOR_VIRT_START + 0x1000000, 0xfffffffc));
        if (writes) {
            bad.add(a.boot.ptBaseVa());     // mapped read-only
            bad.add(MACH2PHYS_VIRT_START);  // read-only M2P
        }
        if (nr == HC_SET_TRAP_TABLE) {
            bad.remove(Integer.valueOf(0)); // NULL is Xen's "clear the table"
        }
        for (int ptr : bad) {
            long mem = hash(f.machine, 1);
            int ports = a.xen.evtchn.openPorts();
            int mapped = a.xen.gnttab.mappedCount();
            int frames = a.xen.gnttab.nrFrames();
            int[] args = {0, 0, 0, 0, 0};
            if (sub >= 0) {
                args[0] = sub;
            }
            if (nr == HC_VCPU_OP) {
                args[1] = 0; // vcpu 0
            }
            args[pos - 1] = ptr;
            if (pos < 5 && count > 0 && !(nr == HC_CONSOLE_IO)) {
                args[pos] = count;
            }
            if (nr == HC_CONSOLE_IO) {
                args[1] = count;
            }
            if (nr == HC_MMU_UPDATE || nr == HC_MMUEXT_OP) {
                args[3] = DOMID_SELF;
            }
            int rc = a.call(nr, args[0], args[1], args[2], args[3], args[4]);
            assertEquals(-EFAULT, rc, name + " with pointer 0x" + Integer.toHexString(ptr));
            assertEquals(mem, hash(f.machine, 1), name + ": memory changed");
            assertEquals(ports, a.xen.evtchn.openPorts(), name + ": ports changed");
            assertEquals(mapped, a.xen.gnttab.mappedCount());
            assertEquals(frames, a.xen.gnttab.nrFrames());
            assertNull(a.ctx.shutdown, name + ": shut down");
        }
        assertEquals(0, f.host.dispatcher.internalErrors());
    }
}
