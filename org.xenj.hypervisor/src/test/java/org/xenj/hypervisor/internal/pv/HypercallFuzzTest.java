package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Throws a million random hypercalls (random numbers, sub-commands, pointers into good, read-only,
 * foreign and unmapped memory, and random struct contents) at one PV domain through the
 * dispatcher, then checks that the other domains' memory and channels did not change and that
 * the hypervisor never threw. Prints calls, results per errno and time.
 */
class HypercallFuzzTest {

    private static final int CALLS = 1_000_000;
    private static final int[] HYPERCALLS = {HC_SET_TRAP_TABLE, HC_MMU_UPDATE, HC_SET_GDT, HC_STACK_SWITCH, HC_SET_CALLBACKS,
        HC_FPU_TASKSWITCH, HC_UPDATE_DESCRIPTOR, HC_MEMORY_OP, HC_MULTICALL, HC_UPDATE_VA_MAPPING, HC_SET_TIMER_OP,
        HC_XEN_VERSION, HC_CONSOLE_IO, HC_GRANT_TABLE_OP, HC_VM_ASSIST, HC_IRET, HC_VCPU_OP, HC_MMUEXT_OP, HC_SCHED_OP,
        HC_CALLBACK_OP, HC_EVENT_CHANNEL_OP, HC_PHYSDEV_OP, HC_HVM_OP};

    private final PvFixture f = new PvFixture();

    private static long hashOfDomain(MachineMemory m, int domid) {
        CRC32 crc = new CRC32();
        for (int mfn = 0; mfn < m.totalFrames(); mfn++) {
            if (m.owner(mfn) == domid) {
                crc.update(mfn);
                crc.update(m.chunk(mfn), MachineMemory.offset(mfn), MachineMemory.PAGE_SIZE);
            }
        }
        return crc.getValue();
    }

    @Test
    void aMillionRandomHypercallsLeaveOtherDomainsUntouched() {
        PvFixture.Dom a = f.pv(1);
        PvFixture.Dom b = f.pv(2);
        PvFixture.Dom c = f.pv(3);
        a.ctx.discard = true;
        // b and c talk to each other, so there is cross-domain state a could try to disturb
        int pb = b.xen.evtchn.allocUnbound(3);
        int pc = c.xen.evtchn.bindInterdomain(2, pb);
        assertTrue(pc > 0);
        long hashB = hashOfDomain(f.machine, 2);
        long hashC = hashOfDomain(f.machine, 3);
        int portsB = b.xen.evtchn.openPorts();
        int portsC = c.xen.evtchn.openPorts();
        int bFrame = b.mfnOfVa(b.scratch(2));

        Random r = new Random(0x5eed);
        int[] pointers = {a.scratch(1), a.scratch(2), a.scratch(3) + 2, a.scratch(4) + 4093, (int) PvFixture.VIRT_BASE,
            a.boot.startInfoVa(), a.boot.p2mVa(), a.boot.ptBaseVa(), MACH2PHYS_VIRT_START, 0, 0x1000, -4, HYPERVISOR_VIRT_START - 8};
        int[] values = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 16, 23, 31, 32, 1023, 1024, 4096, DOMID_SELF, 0x7fff, -1,
            Integer.MIN_VALUE, bFrame, bFrame << 12, b.mfnOfVa(b.scratch(0)), a.mfnOfVa(a.scratch(5)), (int) (a.boot.cr3() >>> 12),
            (int) a.boot.cr3(), a.xen.sharedInfoMfn, 0xe019, 0xe021, 0xe018};
        Map<Integer, Integer> results = new TreeMap<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < CALLS; i++) {
            if ((i & 63) == 0) {
                // scribble random words into the scratch pages the pointers point at
                for (int k = 0; k < 16; k++) {
                    int va = a.scratch(1 + r.nextInt(4)) + 4 * r.nextInt(1024);
                    try {
                        a.hc.memory.write32(va, r.nextBoolean() ? values[r.nextInt(values.length)] : r.nextInt());
                    } catch (RuntimeException e) {
                        // the guest may have unmapped its scratch pages: fine
                    }
                }
            }
            int nr = r.nextInt(8) == 0 ? r.nextInt(70) - 3 : HYPERCALLS[r.nextInt(HYPERCALLS.length)];
            int[] args = new int[5];
            for (int k = 0; k < 5; k++) {
                args[k] = switch (r.nextInt(4)) {
                    case 0 -> pointers[r.nextInt(pointers.length)];
                    case 1 -> values[r.nextInt(values.length)];
                    case 2 -> r.nextInt(16);
                    default -> r.nextInt();
                };
            }
            if (r.nextBoolean()) {
                args[0] = r.nextInt(20); // most hypercalls take a sub-command first
            }
            if (nr == HC_CONSOLE_IO && args[1] > 8192) {
                args[1] &= 0xfff; // keep console writes small: the point is the pointer, not the volume
            }
            int rc = a.call(nr, args[0], args[1], args[2], args[3], args[4]);
            results.merge(rc >= 0 ? 0 : rc, 1, Integer::sum);
            a.xen.vcpus[0].blockRequested = false;
            a.xen.vcpus[0].yieldRequested = false;
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        a.ctx.runTimers();

        StringBuilder sb = new StringBuilder("fuzz: calls=" + CALLS + " time_ms=" + ms + " internal_errors="
                + f.host.dispatcher.internalErrors() + " results:");
        results.forEach((k, v) -> sb.append(' ').append(k == 0 ? "ok" : "-" + errnoName(-k)).append('=').append(v));
        System.out.println(sb);

        assertEquals(hashB, hashOfDomain(f.machine, 2), "domain 2's memory changed");
        assertEquals(hashC, hashOfDomain(f.machine, 3), "domain 3's memory changed");
        assertEquals(portsB, b.xen.evtchn.openPorts());
        assertEquals(portsC, c.xen.evtchn.openPorts());
        assertEquals(EVTCHNSTAT_INTERDOMAIN, c.xen.evtchn.stateOf(pc));
        assertEquals(0, f.host.dispatcher.internalErrors(), "hypervisor exceptions: " + a.ctx.log);
        assertTrue(results.size() > 6, "the fuzzer reached many different outcomes");
        // the host still works: b and c can talk
        assertEquals(0, c.xen.evtchn.send(pc));
        assertTrue(b.xen.events.isPending(pb));
        for (int mfn = 0; mfn < f.machine.totalFrames(); mfn++) {
            int o = f.machine.owner(mfn);
            assertTrue(o == MachineMemory.FREE || o == 1 || o == 2 || o == 3 || o == DOMID_XEN, "frame " + mfn + " owned by " + o);
        }
        assertTrue(MachineFrames.read32(f.machine, (long) bFrame << 12) == MachineFrames.read32(f.machine, (long) bFrame << 12));
    }

    @Test
    void randomHypercallsFromAnHvmDomainStayInsideIt() {
        PvFixture.Dom b = f.pv(2);
        TestContext hctx = new TestContext(f.machine, 4, org.xenj.hypervisor.api.DomainType.HVM);
        hctx.discard = true;
        hctx.memory.populate(0, 512);
        var hvm = new org.xenj.hypervisor.internal.hypercall.HvmXenAbi(f.host, hctx, 1);
        var hc = new org.xenj.hypervisor.internal.hypercall.HypercallContext(hvm.domain(), 0, null);
        long hashB = hashOfDomain(f.machine, 2);
        Random r = new Random(42);
        int[] pointers = {0x1000, 0x2000, 0x3000 + 2, 0x1fffff0, 0x200000 - 4, 0, -4, 0x7000000};
        int[] values = {0, 1, 2, 3, 6, 7, 12, DOMID_SELF, 2, 0x100, 0x1ff, 0x200, -1, b.mfnOfVa(b.scratch(1))};
        Map<Integer, Integer> results = new TreeMap<>();
        int calls = 200_000;
        for (int i = 0; i < calls; i++) {
            if ((i & 63) == 0) {
                for (int k = 0; k < 16; k++) {
                    int gpa = 0x1000 * (1 + r.nextInt(3)) + 4 * r.nextInt(1024);
                    try {
                        hc.memory.write32(gpa, r.nextBoolean() ? values[r.nextInt(values.length)] : r.nextInt());
                    } catch (RuntimeException e) {
                        // the guest may have given the page away
                    }
                }
            }
            int nr = HYPERCALLS[r.nextInt(HYPERCALLS.length)];
            int[] a = new int[5];
            for (int k = 0; k < 5; k++) {
                a[k] = r.nextBoolean() ? pointers[r.nextInt(pointers.length)] : values[r.nextInt(values.length)];
            }
            if (r.nextBoolean()) {
                a[0] = r.nextInt(12);
            }
            if (nr == HC_CONSOLE_IO) {
                a[1] &= 0xfff;
            }
            int rc = hvm.domain().host.dispatcher.dispatch(hc, nr, a[0], a[1], a[2], a[3], a[4]);
            results.merge(rc >= 0 ? 0 : rc, 1, Integer::sum);
        }
        StringBuilder sb = new StringBuilder("fuzz (HVM): calls=" + calls + " internal_errors=" + f.host.dispatcher.internalErrors() + " results:");
        results.forEach((k, v) -> sb.append(' ').append(k == 0 ? "ok" : "-" + errnoName(-k)).append('=').append(v));
        System.out.println(sb);
        assertEquals(hashB, hashOfDomain(f.machine, 2), "the PV domain's memory changed");
        assertEquals(0, f.host.dispatcher.internalErrors());
        for (int mfn = 0; mfn < f.machine.totalFrames(); mfn++) {
            int o = f.machine.owner(mfn);
            assertTrue(o == MachineMemory.FREE || o == 2 || o == 4 || o == DOMID_XEN, "frame " + mfn + " owned by " + o);
        }
        hvm.destroy();
    }

    private static String errnoName(int e) {
        return switch (e) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY";
            case EEXIST -> "EEXIST";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            case ENOSYS -> "ENOSYS";
            case 62 -> "ETIME";
            default -> Integer.toString(e);
        };
    }
}
