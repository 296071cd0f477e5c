package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_WC_NSEC;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_WC_SEC;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_TIME;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_SYSTEM_TIME;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_TSC_SHIFT;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_TSC_TIMESTAMP;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_TSC_TO_SYSTEM_MUL;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_VERSION;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VirtualClock;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.timer.PvClockScale;

/**
 * Xen's time info derives from the domain clock: a guest extrapolating vcpu_time_info with the TSC
 * (as Linux's pvclock does) reads the same system time the hypervisor uses for its timers, and the
 * shared_info wallclock plus system time is the clock's wall time.
 */
class XenTimeInfoTest {

    private final PvFixture f = new PvFixture();
    private final PvFixture.Dom a = f.pv(1);

    @Test
    void pvclockExtrapolatedWithTheTscMatchesSystemTimeAndWallclock() throws InterruptedException {
        XenDomain xen = a.xen;
        VirtualClock clock = xen.clock;
        xen.updateTime(0);
        long vt = xen.events.vcpuInfoAddress(0) + VI_TIME;
        assertEquals(0, MachineFrames.read32(f.machine, vt + VT_VERSION) & 1, "version even: update complete");
        long sys0 = MachineFrames.read64(f.machine, vt + VT_SYSTEM_TIME);
        long tsc0 = MachineFrames.read64(f.machine, vt + VT_TSC_TIMESTAMP);
        int mul = MachineFrames.read32(f.machine, vt + VT_TSC_TO_SYSTEM_MUL);
        int shift = (byte) MachineFrames.read8(f.machine, vt + VT_TSC_SHIFT);
        assertEquals(clock.tscAt(sys0), tsc0, "the TSC at the published system time");
        Thread.sleep(30); // let host time pass: both must follow it alike
        long before = xen.systemTime();
        long guest = sys0 + new PvClockScale(mul, shift).toNanos(clock.tsc() - tsc0);
        long after = xen.systemTime();
        assertTrue(guest >= before && guest <= after, "pvclock " + guest + " within [" + before + ", " + after + "]");
        assertTrue(after - sys0 >= 30_000_000L, "system time advanced with the host");
        long sh = (long) xen.sharedInfoMfn << 12;
        long wc = (MachineFrames.read32(f.machine, sh + SH_WC_SEC) & 0xffffffffL) * VirtualClock.NS_PER_S
                + MachineFrames.read32(f.machine, sh + SH_WC_NSEC);
        assertEquals(clock.wallclockAtEpochNanos(), wc, "wallclock = wall time at system time 0");
        long wallNow = wc + xen.systemTime();
        assertTrue(Math.abs(wallNow / 1_000_000 - System.currentTimeMillis()) < 50, "guest wall time is the host's");
    }

    @Test
    void systemTimeStartsAtTheDomainsPowerOnNotTheHosts() {
        long sys = a.xen.systemTime();
        assertTrue(sys >= 0 && sys < 60_000_000_000L, "system time counts from the domain's creation: " + sys);
        assertEquals(a.xen.clock.instantOf(sys), a.xen.hostNanosOf(sys), "timer deadlines on the host's scale");
    }
}
