package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.spi.hypercall.HypercallCall;
import org.xenj.hypervisor.spi.hypercall.HypercallExtension;

class SchedConsoleAndExtensionTest {

    private final PvFixture f = new PvFixture();
    private final PvFixture.Dom a = f.pv(1);

    @Test
    void shutdownRecordsTheReasonAndRejectsUnknownReasons() {
        int arg = a.scratch(1);
        a.hc.memory.write32(arg, 9);
        assertEquals(-EINVAL, a.call(HC_SCHED_OP, SCHEDOP_SHUTDOWN, arg));
        assertNull(a.ctx.shutdown);
        a.hc.memory.write32(arg, ShutdownReason.REBOOT.code());
        assertEquals(0, a.call(HC_SCHED_OP, SCHEDOP_SHUTDOWN, arg));
        assertEquals(ShutdownReason.REBOOT, a.ctx.shutdown);
        assertTrue(a.xen.vcpus[0].shutdownRequested);
    }

    @Test
    void remoteShutdownIsDom0Only() {
        PvFixture.Dom b = f.pv(2);
        int arg = a.scratch(1);
        a.hc.memory.write16(arg, 2);
        a.hc.memory.write32(arg + 4, 0);
        assertEquals(-EPERM, a.call(HC_SCHED_OP, SCHEDOP_REMOTE_SHUTDOWN, arg));
        assertNull(b.ctx.shutdown);
    }

    @Test
    void blockUnmasksEventsAndBlocksOnlyWithNothingPending() {
        assertTrue(a.xen.events.upcallMasked(0));
        assertEquals(0, a.call(HC_SCHED_OP, SCHEDOP_BLOCK, 0));
        assertFalse(a.xen.events.upcallMasked(0));
        assertTrue(a.xen.vcpus[0].blockRequested);
        a.xen.vcpus[0].blockRequested = false;
        assertEquals(0, a.call(HC_SCHED_OP, SCHEDOP_YIELD, 0));
        assertTrue(a.xen.vcpus[0].yieldRequested);
    }

    @Test
    void pollReturnsAtOnceForAPendingPortAndRefusesBadPorts() {
        int ipiArg = a.scratch(1);
        a.hc.memory.write32(ipiArg, 0);
        assertEquals(0, a.call(HC_EVENT_CHANNEL_OP, EVTCHNOP_BIND_IPI, ipiArg));
        int port = a.hc.memory.read32(ipiArg + 4);
        int ports = a.scratch(2);
        int poll = a.scratch(3);
        a.hc.memory.write32(ports, port);
        a.hc.memory.write32(poll, ports);
        a.hc.memory.write32(poll + 4, 1);
        a.hc.memory.write64(poll + 8, 0);
        assertEquals(0, a.call(HC_SCHED_OP, SCHEDOP_POLL, poll));
        assertTrue(a.xen.vcpus[0].blockRequested, "nothing pending: blocks");
        a.xen.vcpus[0].blockRequested = false;
        a.xen.evtchn.send(port);
        assertEquals(0, a.call(HC_SCHED_OP, SCHEDOP_POLL, poll));
        assertFalse(a.xen.vcpus[0].blockRequested, "pending: returns at once");
        a.hc.memory.write32(ports, 5000);
        assertEquals(-EINVAL, a.call(HC_SCHED_OP, SCHEDOP_POLL, poll));
        a.hc.memory.write32(poll + 4, 1000);
        assertEquals(-EINVAL, a.call(HC_SCHED_OP, SCHEDOP_POLL, poll));
    }

    @Test
    void vcpuOpTimersAndUnknownVcpu() {
        int arg = a.scratch(1);
        assertEquals(1, a.call(HC_VCPU_OP, VCPUOP_IS_UP, 0, 0, 0, 0));
        assertEquals(-ENOENT, a.call(HC_VCPU_OP, VCPUOP_IS_UP, 3, 0, 0, 0));
        a.hc.memory.write64(arg, 1); // long in the past
        a.hc.memory.write32(arg + 8, VCPU_SSHOTTMR_FUTURE);
        assertEquals(-62, a.call(HC_VCPU_OP, VCPUOP_SET_SINGLESHOT_TIMER, 0, arg, 0, 0), "ETIME");
        a.hc.memory.write64(arg, a.xen.systemTime() + 5_000_000);
        assertEquals(0, a.call(HC_VCPU_OP, VCPUOP_SET_SINGLESHOT_TIMER, 0, arg, 0, 0));
        assertTrue(a.xen.vcpus[0].timerDeadline > 0);
        assertEquals(0, a.call(HC_VCPU_OP, VCPUOP_STOP_SINGLESHOT_TIMER, 0, 0, 0, 0));
        assertEquals(0, a.xen.vcpus[0].timerDeadline);
        a.hc.memory.write64(arg, 1000);
        assertEquals(-EINVAL, a.call(HC_VCPU_OP, VCPUOP_SET_PERIODIC_TIMER, 0, arg, 0, 0));
    }

    @Test
    void consoleIoWritesAndTheConsoleRingDrainsBothWays() {
        int buf = a.scratch(1);
        byte[] hi = "hi there\n\u0007x\n".getBytes(StandardCharsets.US_ASCII);
        a.hc.memory.write(buf, hi, 0, hi.length);
        assertEquals(0, a.call(HC_CONSOLE_IO, CONSOLEIO_WRITE, hi.length, buf, 0, 0));
        // console_io goes to the hypervisor log line by line (Xen's xl dmesg), never to the console
        assertTrue(a.ctx.log.contains("hi there"), a.ctx.log.toString());
        assertTrue(a.ctx.log.contains(".x"), "a control character is shown as a dot: " + a.ctx.log);
        assertEquals("", a.ctx.consoleText());
        assertEquals(-EINVAL, a.call(HC_CONSOLE_IO, CONSOLEIO_WRITE, -1, buf, 0, 0));
        assertEquals(-ENOSYS, a.call(HC_CONSOLE_IO, 7, 0, 0, 0, 0));
        // the ring: guest output drained into the console, typed input placed in "in"
        long page = (long) a.xen.consoleMfn << 12;
        byte[] out = "ring!".getBytes(StandardCharsets.US_ASCII);
        MachineFrames.copyIn(f.machine, page + CONS_OUT, out, 0, out.length);
        MachineFrames.write32(f.machine, page + CONS_OUT_PROD, out.length);
        a.xen.evtchn.send(a.xen.consolePort);
        assertEquals("ring!", a.ctx.consoleText());
        assertEquals(out.length, MachineFrames.read32(f.machine, page + CONS_OUT_CONS));
        a.ctx.input.input("ls\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(3, MachineFrames.read32(f.machine, page + CONS_IN_PROD));
        assertEquals('l', MachineFrames.read8(f.machine, page + CONS_IN));
        // a lying producer index is clamped to the ring, never trusted as a length
        MachineFrames.write32(f.machine, page + CONS_OUT_PROD, out.length + 1_000_000);
        a.xen.evtchn.send(a.xen.consolePort);
        assertTrue(a.ctx.consoleText().length() <= "hi therering!".length() + CONS_OUT_SIZE);
    }

    @Test
    void extensionsServeFreeNumbersOnly() {
        HypercallExtension echo = new HypercallExtension() {
            @Override
            public int number() {
                return 48;
            }

            @Override
            public int invoke(HypercallCall call) {
                byte[] b = new byte[4];
                call.read(call.arg(0), b, 0, 4);
                return b[0] + call.domid();
            }
        };
        HypercallExtension clash = new HypercallExtension() {
            @Override
            public int number() {
                return HC_SCHED_OP;
            }

            @Override
            public int invoke(HypercallCall call) {
                return 12345;
            }
        };
        assertEquals(-ENOSYS, a.call(48, a.scratch(1), 0));
        assertTrue(f.host.dispatcher.addExtension(echo));
        assertFalse(f.host.dispatcher.addExtension(clash));
        a.hc.memory.write8(a.scratch(1), 40);
        assertEquals(41, a.call(48, a.scratch(1), 0));
        assertEquals(-EFAULT, a.call(48, 0, 0), "extension memory access is checked");
        f.host.dispatcher.removeExtension(echo);
        assertEquals(-ENOSYS, a.call(48, a.scratch(1), 0));
    }
}
