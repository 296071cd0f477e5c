package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

/** The PV vCPU on the real IA-32 CPU, with hand-assembled ring-1 code. */
class PvVcpuTest {

    private static final int BASE = (int) PvFixture.VIRT_BASE;
    private static final int EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7, ECX = 1;

    private final PvFixture f = new PvFixture();

    private static void put(byte[] code, int at, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            code[at + i] = (byte) bytes[i];
        }
    }

    private static byte[] kernel() {
        byte[] c = new byte[3 * 4096];
        put(c, 0x00,
                0xb8, 0x11, 0, 0, 0,                 // mov eax, 17 (xen_version)
                0x31, 0xdb,                          // xor ebx, ebx
                0xcd, 0x82,                          // int 0x82
                0x89, 0xc6,                          // mov esi, eax
                0xfa,                                // cli  (#GP in ring 1: emulated as the event mask)
                0xb8, 0, 0, 0, 0x40,                 // mov eax, 0x40000000
                0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2, // ud2; "xen"; cpuid (forced emulation)
                0x89, 0xdf,                          // mov edi, ebx
                0xcd, 0x80,                          // int 0x80 -> virtual trap table
                0xf4);                               // (not reached)
        put(c, 0x100,
                0xbd, 0x34, 0x12, 0, 0,              // mov ebp, 0x1234
                0xf4);                               // hlt (#GP: emulated as block)
        put(c, 0x200,
                0xb9, 0x55, 0, 0, 0,                 // mov ecx, 0x55
                0xa1, 0x00, 0x00, 0x40, 0x00,        // mov eax, [0x00400000] -> #PF (unmapped)
                0xf4);
        put(c, 0x300,
                0xbd, 0x99, 0, 0, 0,                 // mov ebp, 0x99
                0xeb, 0xfe);                         // jmp $ (spin until preempted)
        return c;
    }

    @Test
    void hypercallsTrapBouncesEmulationEventsAndPageFaults() {
        PvFixture.Dom d = f.pv(1, kernel());
        PvVcpu v = new PvVcpu(d.xen, 0, d.boot);
        var x = d.xen.vcpus[0];
        x.trapCs[0x80] = XenAbi.FLAT_RING1_CS;
        x.trapEip[0x80] = BASE + 0x100;
        x.trapFlags[0x80] = 3; // DPL 3: callable from user mode too
        x.trapCs[14] = XenAbi.FLAT_RING1_CS;
        x.trapEip[14] = BASE + 0x300;

        assertEquals(RunExit.BLOCKED, v.scheduled().run(System.nanoTime() + 1_000_000_000L), v.cpu().stateString());
        var cpu = v.cpu();
        assertEquals(4 << 16 | 17, cpu.getReg32(ESI), "xen_version through int 0x82");
        assertEquals(0x566e6558, cpu.getReg32(EDI), "forced-emulation CPUID saw XenV");
        assertEquals(0x1234, cpu.getReg32(EBP), "int 0x80 bounced to the virtual trap table");
        assertEquals(1, cpu.getCpl());
        int sp = cpu.getReg32(ESP);
        assertEquals(BASE + 28, d.hc.memory.read32(sp), "return EIP after int 0x80");
        assertEquals(XenAbi.FLAT_RING1_CS, d.hc.memory.read32(sp + 4));
        assertEquals(0, d.hc.memory.read32(sp + 8) & 0x200, "IF in the frame = events were masked (cli)");
        assertFalse(d.xen.events.upcallMasked(0), "emulated HLT blocks with events enabled");

        // an event: the callback runs with events masked, then faults on an unmapped address
        x.eventCs = XenAbi.FLAT_RING1_CS;
        x.eventEip = BASE + 0x200;
        int ipi = d.xen.evtchn.bindIpi(0);
        assertFalse(v.scheduled().wakeupPending());
        d.xen.evtchn.send(ipi);
        assertTrue(v.scheduled().wakeupPending());
        assertEquals(RunExit.PREEMPTED, v.scheduled().run(System.nanoTime() + 50_000_000L), cpu.stateString());
        assertEquals(0x55, cpu.getReg32(ECX), "event callback ran");
        assertTrue(d.xen.events.upcallMasked(0), "callback entered with events masked");
        assertEquals(0x99, cpu.getReg32(EBP), "#PF bounced to the guest's handler");
        long vi = ((long) d.xen.sharedInfoMfn << 12) + 8;
        assertEquals(0x00400000, org.xenj.hypervisor.internal.mem.MachineFrames.read32(f.machine, vi), "CR2 in vcpu_info");
    }

    @Test
    void iretWithAnUnloadableFrameEntersTheFailsafeCallback() {
        byte[] c = new byte[3 * 4096];
        int iretStub = BASE + 4096 + 32 * XenAbi.HC_IRET;
        int jmpAt = BASE + 15;
        int rel = iretStub - (jmpAt + 5);
        put(c, 0,
                0x68, 0x02, 0x02, 0, 0,                 // push 0x202 (EFLAGS)
                0x68, 0x35, 0x12, 0, 0,                 // push 0x1235 (a CS that is no code segment)
                0x68, 0x00, 0x04, 0x00, 0xc0,           // push BASE+0x400 (EIP)
                0xe9, rel & 0xff, rel >>> 8 & 0xff, rel >>> 16 & 0xff, rel >>> 24 & 0xff); // jmp iret stub
        put(c, 0x500, 0xbd, 0x77, 0, 0, 0, 0xeb, 0xfe); // failsafe: mov ebp, 0x77; jmp $
        PvFixture.Dom d = f.pv(1, c);
        PvVcpu v = new PvVcpu(d.xen, 0, d.boot);
        d.xen.vcpus[0].failsafeCs = XenAbi.FLAT_RING1_CS;
        d.xen.vcpus[0].failsafeEip = BASE + 0x500;
        assertEquals(RunExit.PREEMPTED, v.scheduled().run(System.nanoTime() + 50_000_000L));
        assertEquals(0x77, v.cpu().getReg32(EBP), v.cpu().stateString());
        int sp = v.cpu().getReg32(ESP);
        assertEquals(XenAbi.FLAT_RING1_DS, d.hc.memory.read32(sp), "DS pushed for the failsafe handler");
        assertEquals(XenAbi.FLAT_RING1_CS, d.hc.memory.read32(sp + 16 + 4), "then the usual frame");
    }

    @Test
    void unhandledExceptionCrashesOnlyThisDomain() {
        byte[] c = new byte[3 * 4096];
        put(c, 0, 0x0f, 0x0b); // ud2 with no trap table
        PvFixture.Dom d = f.pv(1, c);
        PvFixture.Dom other = f.pv(2);
        PvVcpu v = new PvVcpu(d.xen, 0, d.boot);
        assertEquals(RunExit.SHUTDOWN, v.scheduled().run(System.nanoTime() + 1_000_000_000L));
        assertEquals(org.xenj.hypervisor.api.ShutdownReason.CRASH, d.ctx.shutdown);
        assertNull(other.ctx.shutdown);
        assertTrue(d.ctx.log.stream().anyMatch(l -> l.contains("unhandled exception 6")), d.ctx.log.toString());
    }
}
