package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_WC_NSEC;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_WC_SEC;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.SH_WC_VERSION;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VI_TIME;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_SYSTEM_TIME;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_TSC_SHIFT;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_TSC_TIMESTAMP;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_TSC_TO_SYSTEM_MUL;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VT_VERSION;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.internal.evtchn.EventChannels;
import org.xenj.hypervisor.internal.evtchn.SharedInfoEvents;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VirtualClock;
import org.xenj.hypervisor.internal.gnttab.GrantFrames;
import org.xenj.hypervisor.internal.gnttab.GrantTable;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.mem.PvPageTables;
import org.xenj.hypervisor.internal.timer.PvClockScale;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

/**
 * The Xen-ABI side of one guest domain (PV or HVM): its vCPUs' Xen state, event channels, grant
 * table, PV page-table types, shared_info frame and the console/xenstore connection. Created by
 * {@link XenHost#createDomain}; torn down by {@link XenHost#destroyDomain}.
 */
public final class XenDomain {

    public final XenHost host;
    public final GuestContext context;
    public final int domid;
    public final boolean pv;
    public final DomainMemory memory;
    public final MachineMemory machine;
    public final XenVcpu[] vcpus;
    public final int sharedInfoMfn;
    /** The domain's virtual clock (system time, TSC, wallclock). */
    public final VirtualClock clock;
    private final PvClockScale tscScale;
    public final SharedInfoEvents events;
    public final EventChannels evtchn;
    public final GrantTable gnttab;
    /** PV only; null for HVM. */
    public final PvPageTables pageTables;
    /** Held while page tables change (mmu_update, mmuext_op, update_va_mapping, grant PTEs). */
    public final Object mmuLock = new Object();
    /** console_io writes: to the hypervisor log, as Xen does. */
    public final GuestConsoleLog guestLog;
    /** PV: the hypervisor's read-only area (M2P, GDT windows); set by the builder. */
    public org.xenj.hypervisor.internal.hypercall.PvHypervisorArea hypervisorArea;
    public final long[] hvmParams = new long[XenAbi.HVM_NR_PARAMS];
    /** HVM: runs when an upcall becomes pending, before the vCPU is woken (raises the callback GSI). */
    public volatile Runnable upcallHook;
    /**
     * HVM: the vCPU that called SCHEDOP_shutdown(SHUTDOWN_suspend) and waits in it for the
     * toolstack (save, then resume with 1 or a restore returning 0), or -1.
     */
    public volatile int suspendVcpu = -1;
    private final GuestVirtualMemory[] views;
    private final List<Integer> specialFrames = new ArrayList<>();

    /** PV: number of pages in the guest's pseudo-physical space (start_info nr_pages). */
    private volatile int pseudoPhysPages;

    public volatile long maxPages;
    public volatile int vmAssist;
    public int consoleMfn = -1;
    public int consolePort;
    public int storeMfn = -1;
    public int storePort;

    XenDomain(XenHost host, GuestContext context, boolean pv, int vcpuCount, long maxPages) {
        this.host = host;
        this.context = context;
        this.clock = context.clock();
        this.tscScale = PvClockScale.of(clock.tscHz());
        this.domid = context.domid();
        this.guestLog = new GuestConsoleLog(context::log);
        this.pv = pv;
        this.memory = context.memory();
        this.machine = memory.machine();
        this.maxPages = maxPages;
        this.vcpus = new XenVcpu[vcpuCount];
        this.views = new GuestVirtualMemory[vcpuCount];
        this.pageTables = pv ? new PvPageTables(machine, domid) : null;
        for (int i = 0; i < vcpuCount; i++) {
            vcpus[i] = new XenVcpu(i);
            views[i] = pv ? new PvVirtualMemory(memory, vcpus[i]) : new PhysicalGuestMemory(memory);
        }
        this.sharedInfoMfn = allocateSpecialFrame();
        this.events = new SharedInfoEvents(machine, sharedInfoMfn, v -> {
            Runnable hook = upcallHook;
            if (hook != null) {
                hook.run();
            }
            if (v >= 0 && v < vcpuCount) {
                context.waker(v).wake();
            }
        });
        for (int i = 0; i < vcpuCount; i++) {
            events.setUpcallMask(i, true); // upcalls start masked, as Xen builds PV vCPUs
        }
        this.evtchn = host.evtchnHub.register(domid, vcpuCount, events);
        this.gnttab = host.grantHub.register(domid, new Frames(), pv ? new PvGrantMapper(this) : new HvmGrantMapper(this), 32);
    }

    /** The guest-memory view hypercalls of {@code vcpu} use. */
    public GuestVirtualMemory view(int vcpu) {
        return views[vcpu];
    }

    /**
     * A frame the hypervisor keeps for the domain outside its pseudo-physical RAM (shared_info,
     * grant table, rings). PV: identity-mapped like all its frames. HVM: unmapped until the guest
     * places it with add_to_physmap.
     */
    public int allocateSpecialFrame() {
        int mfn;
        if (pv) {
            mfn = memory.populateIdentity(1)[0];
        } else {
            mfn = machine.allocate(domid, 1)[0];
        }
        synchronized (specialFrames) {
            specialFrames.add(mfn);
        }
        return mfn;
    }

    void releaseSpecialFrames() {
        synchronized (specialFrames) {
            for (int mfn : specialFrames) {
                // PV special frames are in the p2m and go back with the domain's RAM.
                if (!pv && machine.owner(mfn) == domid && !mappedInP2m(mfn)) {
                    machine.free(domid, new int[] {mfn});
                }
            }
            specialFrames.clear();
        }
    }

    private boolean mappedInP2m(int mfn) {
        for (long g = 0; g < memory.gfnLimit(); g++) {
            if (memory.mfn(g) == mfn) {
                return true;
            }
        }
        return false;
    }

    /** A restore: arms {@code vcpu}'s single-shot timer at {@code systemTime} on this domain's clock (as VCPUOP_set_singleshot_timer). */
    public void armSingleShotTimer(int vcpu, long systemTime) {
        SchedAndTimeOps.armTimer(this, vcpus[vcpu], systemTime);
    }

    /** The special frames in the order they were allocated (a PV save). */
    public int[] specialFrames() {
        synchronized (specialFrames) {
            return specialFrames.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    public boolean isSpecialFrame(int mfn) {
        synchronized (specialFrames) {
            return specialFrames.contains(mfn);
        }
    }

    /**
     * The machine frame behind the domain's frame {@code gfn} (PV: the frame itself) if the domain
     * owns it, else -1: a foreign frame in an HVM p2m (a grant mapping) or a freed one is refused.
     */
    public int ownedMfn(long gfn) {
        if (gfn < 0 || gfn > 0xffffffffL) {
            return -1;
        }
        if (pv) {
            return gfn < machine.totalFrames() && machine.owner(gfn) == domid ? (int) gfn : -1;
        }
        int mfn = memory.ownFrameForWrite(gfn); // kept by mfn (grants, mappings): never a shared frame
        return mfn >= 0 && machine.owner(mfn) == domid ? mfn : -1;
    }

    /** Pages of RAM the domain holds (Xen's tot_pages). */
    public long currentPages() {
        long n = memory.populatedFrames();
        synchronized (specialFrames) {
            return pv ? n - specialFrames.size() : n;
        }
    }

    /** Xen system time: the domain clock's guest time, nanoseconds since the domain's power-on. */
    public long systemTime() {
        return clock.guestNanos();
    }

    /** The host {@link System#nanoTime()} at which system time reaches {@code systemTime} (for host timers). */
    public long hostNanosOf(long systemTime) {
        return clock.hostNanosOf(clock.instantOf(systemTime));
    }

    /**
     * Publishes vcpu_time_info and the wallclock from the domain clock, with the version protocol
     * guests rely on (odd while updating): the system time now, the TSC at that instant, and the
     * TSC-to-ns scale of the clock's fixed TSC frequency, so that a guest extrapolating with RDTSC
     * reads the same time as the hypervisor. (A vCPU that wrote its TSC is not accounted for.)
     */
    public void updateTime(int vcpu) {
        long vt = events.vcpuInfoAddress(vcpu) + VI_TIME;
        long now = systemTime();
        int ver = MachineFrames.read32(machine, vt + VT_VERSION);
        MachineFrames.write32(machine, vt + VT_VERSION, ver + 1 | 1);
        MachineFrames.write64(machine, vt + VT_TSC_TIMESTAMP, clock.tscAt(now));
        MachineFrames.write64(machine, vt + VT_SYSTEM_TIME, now);
        MachineFrames.write32(machine, vt + VT_TSC_TO_SYSTEM_MUL, tscScale.mul());
        MachineFrames.write8(machine, vt + VT_TSC_SHIFT, tscScale.shift());
        MachineFrames.write32(machine, vt + VT_VERSION, (ver + 1 | 1) + 1);
        long sh = (long) sharedInfoMfn << 12;
        long wall = clock.wallclockAtEpochNanos();
        int wv = MachineFrames.read32(machine, sh + SH_WC_VERSION);
        MachineFrames.write32(machine, sh + SH_WC_VERSION, wv + 1 | 1);
        MachineFrames.write32(machine, sh + SH_WC_SEC, (int) (wall / 1_000_000_000L));
        MachineFrames.write32(machine, sh + SH_WC_NSEC, (int) (wall % 1_000_000_000L));
        MachineFrames.write32(machine, sh + SH_WC_VERSION, (wv + 1 | 1) + 1);
    }

    /** Records machine frame -> pseudo-physical frame in the M2P (MMU_MACHPHYS_UPDATE); 0 or -EINVAL. */
    public int setM2p(int mfn, int pfn) {
        return host.m2p().set(mfn, pfn) ? 0 : -XenAbi.EINVAL;
    }

    public int m2p(int mfn) {
        return host.m2p().get(mfn);
    }

    public int pseudoPhysPages() {
        return pseudoPhysPages;
    }

    public void setPseudoPhysPages(int n) {
        pseudoPhysPages = n;
    }

    /** Frames as the grant table sees them. */
    private final class Frames implements GrantFrames {
        @Override
        public int allocateFrame() {
            try {
                return allocateSpecialFrame();
            } catch (RuntimeException e) {
                return -1;
            }
        }

        @Override
        public int ownFrameToMfn(int frame) {
            if (pv) {
                return frame >= 0 && machine.owner(frame) == domid ? frame : -1;
            }
            int mfn = memory.ownFrameForWrite(frame & 0xffffffffL); // kept by mfn: never a shared frame
            return mfn >= 0 && machine.owner(mfn) == domid ? mfn : -1;
        }

        @Override
        public int guestFrameOf(int mfn) {
            return mfn; // PV: machine frames; HVM guests place grant frames with add_to_physmap
        }
    }
}
