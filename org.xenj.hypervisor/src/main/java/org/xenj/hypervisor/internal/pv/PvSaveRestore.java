package org.xenj.hypervisor.internal.pv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.cpu.CpuState;
import org.xenj.hypervisor.internal.evtchn.EventChannelsState;
import org.xenj.hypervisor.internal.gnttab.GrantTableState;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenVcpu;
import org.xenj.hypervisor.internal.save.MachineImage;
import org.xenj.hypervisor.internal.save.PvDomainState;
import org.xenj.hypervisor.internal.xenabi.XenAbi;
import org.xenj.hypervisor.internal.xenstore.XenStore;

/**
 * Save and restore of a PV domain without the guest's help ({@code DESIGN-save.md}, "PV guests").
 * A PV guest sees machine frame numbers (xenj's PV p2m is the identity) and keeps them everywhere —
 * page tables, its p2m array, its copy of start_info, ring references in xenstore —, so the restore
 * gets back exactly the frames it had ({@code MachineMemory.planAllocations}, set by the core around
 * the build) and everything Xen keeps about them applies as saved: page types and pins, the M2P,
 * GDT frames, CR3. The console and xenstore ports are bound again to Domain 0's new ends by the
 * builder, at the same numbers.
 */
final class PvSaveRestore {

    /** How long a save waits for Domain 0's xenstore end to finish a request the guest wrote before it paused. */
    private static final long STORE_IDLE_MILLIS = 2_000;

    private PvSaveRestore() {
    }

    /** Why {@code g} cannot be saved now, or null. */
    static String refusal(PvGuest g) {
        XenDomain d = g.domain();
        for (XenVcpu v : d.vcpus) {
            if (v.shutdownRequested) {
                return "it is shutting down";
            }
            if (v.pendingStart != null) {
                return "vCPU " + v.id + " has a VCPUOP_initialise context it has not loaded yet; try again";
            }
        }
        for (EventChannelsState.Port p : d.evtchn.saveState().ports()) {
            if (p.status() == XenAbi.EVTCHNSTAT_INTERDOMAIN && p.port() != d.consolePort && p.port() != d.storePort) {
                return "its event channel " + p.port() + " is connected to d" + p.remoteDom() + " port " + p.remotePort()
                        + " (a frontend/backend pair), which xenj cannot reconnect for a PV guest yet";
            }
        }
        GrantTableState gt = d.gnttab.saveState();
        if (!gt.pins().isEmpty() || !gt.maps().isEmpty()) {
            return "grants of it are mapped (" + gt.pins().size() + " entries mapped by other domains, " + gt.maps().size()
                    + " of its own maps): a backend would have to map them again";
        }
        return null;
    }

    /** With the vCPUs stopped: everything but memory and the xenstore subtree. */
    static MachineImage save(PvGuest g) {
        String why = refusal(g);
        if (why != null) {
            throw new HypervisorException(why);
        }
        XenDomain d = g.domain();
        long until = System.currentTimeMillis() + STORE_IDLE_MILLIS;
        while (!g.services().store().idle()) { // a request the guest wrote just before the pause, still being served
            if (System.currentTimeMillis() > until) {
                throw new HypervisorException("its xenstore connection is in the middle of a request (or its reply ring is full)");
            }
            g.services().store().service();
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HypervisorException("interrupted");
            }
        }
        int[] p2m = g.p2m();
        int[] special = d.specialFrames();
        for (int[] list : new int[][] {p2m, special}) {
            for (int f : list) {
                if (d.memory.mfn(f) != f || !d.memory.holds(f)) {
                    throw new HypervisorException("its frame 0x" + Integer.toHexString(f) + " is no longer its own (ballooned out)");
                }
            }
        }
        List<CpuState> cpus = new ArrayList<>();
        List<PvDomainState.Vcpu> vs = new ArrayList<>();
        for (int i = 0; i < d.vcpus.length; i++) {
            PvVcpu pv = g.vcpu(i);
            XenVcpu v = d.vcpus[i];
            cpus.add(pv.cpu().saveState());
            List<Integer> traps = new ArrayList<>();
            for (int t = 0; t < 256; t++) {
                if (v.trapCs[t] != 0 || v.trapEip[t] != 0 || v.trapFlags[t] != 0) {
                    traps.addAll(List.of(t, v.trapCs[t], v.trapEip[t], v.trapFlags[t]));
                }
            }
            vs.add(new PvDomainState.Vcpu(traps.stream().mapToInt(Integer::intValue).toArray(), v.eventCs, v.eventEip, v.failsafeCs,
                    v.failsafeEip, v.failsafeMasksEvents, v.nmiEip, v.kernelSs, v.kernelSp, v.gdtFrames, v.gdtEntries, v.ldtBase,
                    v.ldtEntries, v.cr3, v.fpuTaskSwitched, v.up, v.initialised, pv.haltedForDown(), v.timerDeadline, v.periodicNanos,
                    d.events.vcpuInfoMoved(i) ? d.events.vcpuInfoAddress(i) : 0));
        }
        int[] types;
        synchronized (d.mmuLock) {
            types = d.pageTables.saveTypes();
        }
        int[] m2p = new int[2 * (p2m.length + special.length)];
        int k = 0;
        for (int[] list : new int[][] {p2m, special}) {
            for (int f : list) {
                m2p[k++] = f;
                m2p[k++] = d.m2p(f);
            }
        }
        String home = XenStore.domainPath(d.domid) + "/";
        List<PvDomainState.Watch> watches = d.host.store.watchesOf(d.domid).stream()
                .map(w -> new PvDomainState.Watch(w.relative() && w.path().startsWith(home) ? w.path().substring(home.length()) : w.path(),
                        w.token(), w.relative() && w.path().startsWith(home))).toList();
        PvDomainState state = new PvDomainState(p2m, special, d.sharedInfoMfn, d.consoleMfn, d.consolePort, d.storeMfn, d.storePort,
                d.vmAssist, d.pseudoPhysPages(), d.maxPages, vs, types, m2p, watches);
        return new MachineImage(cpus, null, Map.of(), Map.of(), Map.of(), d.evtchn.saveState(), d.gnttab.saveState(), Map.of(), null,
                state);
    }

    /**
     * Before the pages load into a domain just built from the same configuration on the image's
     * frames: checks that the build got them, and sets up the grant table (its frames, set up at
     * run time, come from the plan too, in the order they were allocated, so that the page records
     * find every frame). Anything that does not fit is an exception with the reason (the core then
     * destroys the domain).
     */
    static void prepare(PvGuest g, MachineImage image) {
        PvDomainState s = image.pv();
        XenDomain d = g.domain();
        if (s == null || image.evtchn() == null || image.gnttab() == null) {
            throw new IllegalArgumentException("the image is not a PV domain's");
        }
        if (s.vcpus().size() != d.vcpus.length || image.vcpus().size() != d.vcpus.length) {
            throw new IllegalArgumentException("the image has " + s.vcpus().size() + " vCPUs, the domain " + d.vcpus.length);
        }
        if (!Arrays.equals(s.p2m(), g.p2m()) || d.sharedInfoMfn != s.sharedInfoMfn()) {
            throw new IllegalArgumentException("the domain was built on other machine frames than the image's");
        }
        if (d.consoleMfn != s.consoleMfn() || d.storeMfn != s.storeMfn() || d.consolePort != s.consolePort()
                || d.storePort != s.storePort()) {
            throw new IllegalArgumentException("the rebuilt domain's console/xenstore rings or ports (" + d.consoleMfn + "/" + d.storeMfn
                    + ", ports " + d.consolePort + "/" + d.storePort + ") are not the image's (" + s.consoleMfn() + "/" + s.storeMfn()
                    + ", ports " + s.consolePort() + "/" + s.storePort() + "): was the kernel file changed?");
        }
        d.gnttab.restoreState(image.gnttab());
        if (!Arrays.equals(d.specialFrames(), s.specialFrames())) {
            throw new IllegalArgumentException("the domain's hypervisor frames " + Arrays.toString(d.specialFrames())
                    + " are not the image's " + Arrays.toString(s.specialFrames()));
        }
    }

    /** After {@link #prepare} and the pages, nothing run yet: the rest of the saved state. */
    static void restore(PvGuest g, MachineImage image) {
        PvDomainState s = image.pv();
        XenDomain d = g.domain();
        if (s == null) {
            throw new IllegalArgumentException("the image is not a PV domain's");
        }
        int[] types = s.pageTypes();
        for (int i = 0; i < types.length; i += PvDomainState.TYPE_ROW_INTS) {
            if (types[i] >= d.machine.totalFrames()) {
                throw new IllegalArgumentException("the image types machine frame " + types[i] + ", past this host's "
                        + d.machine.totalFrames());
            }
        }
        synchronized (d.mmuLock) {
            d.pageTables.restoreTypes(types);
            int[] m2p = s.m2p();
            for (int i = 0; i < m2p.length; i += 2) {
                d.setM2p(m2p[i], m2p[i + 1]);
            }
        }
        d.vmAssist = s.vmAssist();
        d.maxPages = s.maxPages();
        d.setPseudoPhysPages(s.pseudoPhysPages());
        for (int i = 0; i < d.vcpus.length; i++) {
            XenVcpu v = d.vcpus[i];
            PvDomainState.Vcpu r = s.vcpus().get(i);
            Arrays.fill(v.trapCs, 0);
            Arrays.fill(v.trapEip, 0);
            Arrays.fill(v.trapFlags, 0);
            int[] t = r.traps();
            for (int j = 0; j < t.length; j += 4) {
                v.trapCs[t[j]] = t[j + 1];
                v.trapEip[t[j]] = t[j + 2];
                v.trapFlags[t[j]] = t[j + 3];
            }
            v.eventCs = r.eventCs();
            v.eventEip = r.eventEip();
            v.failsafeCs = r.failsafeCs();
            v.failsafeEip = r.failsafeEip();
            v.failsafeMasksEvents = r.failsafeMasksEvents();
            v.nmiEip = r.nmiEip();
            v.kernelSs = r.kernelSs();
            v.kernelSp = r.kernelSp();
            System.arraycopy(r.gdtFrames(), 0, v.gdtFrames, 0, 16);
            v.gdtEntries = r.gdtEntries();
            v.ldtBase = r.ldtBase();
            v.ldtEntries = r.ldtEntries();
            v.cr3 = r.cr3();
            v.fpuTaskSwitched = r.fpuTaskSwitched();
            v.up = r.up();
            v.initialised = r.initialised();
            v.periodicNanos = r.periodicNanos();
            d.events.placeVcpuInfo(i, r.vcpuInfoMa());
            g.vcpu(i).restore(image.vcpus().get(i), r.haltedForDown());
        }
        d.evtchn.restoreKeeping(image.evtchn(), new int[] {d.consolePort, d.storePort});
        restoreStore(d, image.xenstore());
        String home = XenStore.domainPath(d.domid) + "/";
        for (PvDomainState.Watch w : s.watches()) { // the guest's watches on Domain 0's new end of its ring, relative ones in its new home
            g.services().store().adoptWatch(w.relative() ? home + w.path() : w.path(), w.token(), w.relative());
        }
        for (int i = 0; i < d.vcpus.length; i++) {
            long deadline = s.vcpus().get(i).timerDeadline();
            if (deadline != 0) {
                d.armSingleShotTimer(i, deadline); // on the restored clock: a deadline already past fires at once
            }
            // a vCPU saved blocked with an event already pending (its timer fired, the original's wake-up was
            // spent before the pause) must look again: the new scheduler never saw that wake-up
            d.context.waker(i).wake();
        }
    }

    /** The guest's own nodes in its home that the new domain lacks (the builder wrote the console and store ones). */
    private static void restoreStore(XenDomain d, Map<String, byte[]> saved) {
        XenStore xs = d.host.store;
        String home = XenStore.domainPath(d.domid);
        for (Map.Entry<String, byte[]> e : saved.entrySet()) {
            String path = home + "/" + e.getKey();
            if (!xs.exists(path)) {
                try {
                    xs.write(d.domid, 0, path, e.getValue()); // as the guest: its own node again
                } catch (RuntimeException ex) {
                    xs.write(0, 0, path, e.getValue());
                }
            }
        }
    }
}
