package org.xenj.hypervisor.internal.save;

import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * A PV domain's Xen state apart from memory, CPU registers, event channels, grant table and xenstore
 * (those have their own records): the PV_DOMAIN record, "XJPV" version 1. xenj's PV guests see
 * machine frame numbers (identity p2m), so the record names frames by mfn and a restore gets back
 * exactly these frames ({@code DESIGN-save.md}, "PV guests").
 *
 * @param p2m            the guest's pseudo-physical RAM, pfn → mfn, in the order the builder populated it
 * @param specialFrames  frames the hypervisor added (shared_info, GDT area, grant frames), in allocation order
 * @param sharedInfoMfn  shared_info (one of {@code specialFrames})
 * @param consoleMfn     the console ring (in {@code p2m})
 * @param consolePort    the guest's console event channel
 * @param storeMfn       the xenstore ring (in {@code p2m})
 * @param storePort      the guest's xenstore event channel
 * @param vmAssist       VMASST bits the guest enabled
 * @param pseudoPhysPages start_info's nr_pages
 * @param maxPages       the domain's page limit
 * @param vcpus          each vCPU's PV state
 * @param pageTypes      page types, counts and pins ({@code PvPageTables.saveTypes}, 6 ints a frame)
 * @param m2p            (mfn, pfn) pairs: the M2P entries of the domain's frames
 * @param watches        the guest's xenstore watches (absolute path, token, whether it asked with a relative path)
 */
public record PvDomainState(int[] p2m, int[] specialFrames, int sharedInfoMfn, int consoleMfn, int consolePort, int storeMfn,
        int storePort, int vmAssist, int pseudoPhysPages, long maxPages, List<Vcpu> vcpus, int[] pageTypes, int[] m2p,
        List<Watch> watches) {

    /**
     * One xenstore watch of the guest: a {@code relative} one by its path under the domain's home
     * (the restored domain's home has another id), any other by its absolute path or special name.
     */
    public record Watch(String path, String token, boolean relative) {
        public Watch {
            if (path == null || token == null || path.length() > 3072 || token.length() > 3072 || path.contains("..")
                    || (relative ? path.isEmpty() || path.startsWith("/") || path.startsWith("@")
                            : !path.startsWith("/") && !path.startsWith("@"))) {
                throw new IllegalArgumentException("xenstore watch " + path);
            }
        }
    }

    /** Most watches a domain may hold (xenstore's quota is lower). */
    static final int MAX_WATCHES = 1024;

    /** "XJPV" as a big-endian int. */
    static final int MAGIC = 0x584a5056;
    static final int VERSION = 1;
    static final int MAX_FRAMES = 1 << 24;
    static final int MAX_SPECIAL = 4096;
    static final int MAX_VCPUS = 32;
    static final int MAX_PORT = 4095;
    static final int TYPE_ROW = 6;
    /** Ints per frame in {@link #pageTypes}. */
    public static final int TYPE_ROW_INTS = TYPE_ROW;
    static final int MAX_TYPE = 5;
    /** xenj's largest machine memory (4 TiB): a frame number past it is damage. */
    static final int MAX_MACHINE_FRAMES = 1 << 30;

    /**
     * One vCPU's PV state ({@code XenVcpu}, {@code PvVcpu}, the vcpu_info placement).
     *
     * @param traps        (vector, cs, eip, flags) for every trap-table entry that is set
     * @param gdtFrames    the 16 GDT frame slots (set_gdt)
     * @param cr3          machine address of its PAE L3
     * @param timerDeadline single-shot timer in Xen system time (0: none), on the domain's clock
     * @param vcpuInfoMa   where VCPUOP_register_vcpu_info placed its vcpu_info (0: in shared_info)
     */
    public record Vcpu(int[] traps, int eventCs, int eventEip, int failsafeCs, int failsafeEip, boolean failsafeMasksEvents, int nmiEip,
            int kernelSs, int kernelSp, int[] gdtFrames, int gdtEntries, int ldtBase, int ldtEntries, long cr3, boolean fpuTaskSwitched,
            boolean up, boolean initialised, boolean haltedForDown, long timerDeadline, long periodicNanos, long vcpuInfoMa) {

        public Vcpu {
            traps = traps.clone();
            gdtFrames = gdtFrames.clone();
            if (traps.length % 4 != 0 || traps.length > 256 * 4 || gdtFrames.length != 16 || gdtEntries < 0 || gdtEntries > 16 * 512
                    || ldtEntries < 0 || ldtEntries > 8192 || cr3 < 0 || timerDeadline < 0 || periodicNanos < 0 || vcpuInfoMa < 0) {
                throw new IllegalArgumentException("PV vCPU state out of range");
            }
            BitSet vectors = new BitSet();
            for (int i = 0; i < traps.length; i += 4) {
                if (traps[i] < 0 || traps[i] > 255 || vectors.get(traps[i])) {
                    throw new IllegalArgumentException("trap table entry for vector " + traps[i] + " (out of range or twice)");
                }
                vectors.set(traps[i]);
            }
        }

        @Override
        public int[] traps() {
            return traps.clone();
        }

        @Override
        public int[] gdtFrames() {
            return gdtFrames.clone();
        }
    }

    public PvDomainState {
        p2m = p2m.clone();
        specialFrames = specialFrames.clone();
        pageTypes = pageTypes.clone();
        m2p = m2p.clone();
        vcpus = List.copyOf(vcpus);
        watches = List.copyOf(watches);
        if (watches.size() > MAX_WATCHES) {
            throw new IllegalArgumentException("PV domain state: " + watches.size() + " xenstore watches");
        }
        if (p2m.length == 0 || p2m.length > MAX_FRAMES || specialFrames.length > MAX_SPECIAL || vcpus.isEmpty()
                || vcpus.size() > MAX_VCPUS || pageTypes.length % TYPE_ROW != 0 || m2p.length % 2 != 0) {
            throw new IllegalArgumentException("PV domain state: " + p2m.length + " pages, " + specialFrames.length + " special frames, "
                    + vcpus.size() + " vCPUs");
        }
        BitSet frames = new BitSet();
        for (int[] list : new int[][] {p2m, specialFrames}) {
            for (int f : list) {
                if (f < 0 || frames.get(f)) {
                    throw new IllegalArgumentException("PV domain state: frame " + f + " out of range or twice");
                }
                frames.set(f);
            }
        }
        if (!contains(specialFrames, sharedInfoMfn) || !contains(p2m, consoleMfn) || !contains(p2m, storeMfn)) {
            throw new IllegalArgumentException("PV domain state: shared_info, console or xenstore frame not the domain's");
        }
        if (consolePort < 1 || consolePort > MAX_PORT || storePort < 1 || storePort > MAX_PORT || consolePort == storePort
                || pseudoPhysPages < 0 || pseudoPhysPages > p2m.length || maxPages < p2m.length) {
            throw new IllegalArgumentException("PV domain state: ports " + consolePort + "/" + storePort + ", " + pseudoPhysPages
                    + " pages of " + maxPages);
        }
        int last = -1;
        for (int i = 0; i < pageTypes.length; i += TYPE_ROW) {
            int mfn = pageTypes[i];
            if (mfn <= last || mfn >= MAX_MACHINE_FRAMES || pageTypes[i + 1] < 0 || pageTypes[i + 1] > MAX_TYPE || pageTypes[i + 2] < 0 || pageTypes[i + 3] < 0
                    || pageTypes[i + 4] < 0 || (pageTypes[i + 5] & ~3) != 0 || pageTypes[i + 3] > pageTypes[i + 4]) {
                throw new IllegalArgumentException("PV domain state: page type row of frame " + mfn);
            }
            last = mfn;
        }
        for (int i = 0; i < m2p.length; i += 2) {
            if (m2p[i] < 0 || !frames.get(m2p[i]) || m2p[i + 1] < -1) {
                throw new IllegalArgumentException("PV domain state: M2P entry of frame " + m2p[i] + " (not the domain's)");
            }
        }
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    /** Every frame the domain held: the restore must get back exactly these. */
    public int[] allFrames() {
        int[] out = java.util.Arrays.copyOf(p2m, p2m.length + specialFrames.length);
        System.arraycopy(specialFrames, 0, out, p2m.length, specialFrames.length);
        return out;
    }

    @Override
    public int[] p2m() {
        return p2m.clone();
    }

    @Override
    public int[] specialFrames() {
        return specialFrames.clone();
    }

    @Override
    public int[] pageTypes() {
        return pageTypes.clone();
    }

    @Override
    public int[] m2p() {
        return m2p.clone();
    }

    public byte[] toBytes() {
        try {
            Payload.Out o = new Payload.Out().i32(MAGIC).i32(VERSION);
            ints(o, p2m);
            ints(o, specialFrames);
            o.i32(sharedInfoMfn).i32(consoleMfn).i32(consolePort).i32(storeMfn).i32(storePort).i32(vmAssist).i32(pseudoPhysPages)
                    .i64(maxPages).i32(vcpus.size());
            for (Vcpu v : vcpus) {
                ints(o, v.traps);
                o.i32(v.eventCs).i32(v.eventEip).i32(v.failsafeCs).i32(v.failsafeEip).i32(v.failsafeMasksEvents ? 1 : 0).i32(v.nmiEip)
                        .i32(v.kernelSs).i32(v.kernelSp);
                ints(o, v.gdtFrames);
                o.i32(v.gdtEntries).i32(v.ldtBase).i32(v.ldtEntries).i64(v.cr3).i32(v.fpuTaskSwitched ? 1 : 0).i32(v.up ? 1 : 0)
                        .i32(v.initialised ? 1 : 0).i32(v.haltedForDown ? 1 : 0).i64(v.timerDeadline).i64(v.periodicNanos)
                        .i64(v.vcpuInfoMa);
            }
            ints(o, pageTypes);
            ints(o, m2p);
            o.i32(watches.size());
            for (Watch w : watches) {
                o.str(w.path).str(w.token).i32(w.relative ? 1 : 0);
            }
            return o.toBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void ints(Payload.Out o, int[] a) throws IOException {
        o.i32(a.length);
        for (int v : a) {
            o.i32(v);
        }
    }

    private static int[] ints(Payload.In in) throws SaveFormatException {
        int n = in.count(4);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = in.i32();
        }
        return a;
    }

    private static boolean bool(Payload.In in, String what) throws SaveFormatException {
        int b = in.i32();
        if (b != 0 && b != 1) {
            throw new SaveFormatException("the PV_DOMAIN record is damaged (" + what + " is " + b + ")");
        }
        return b == 1;
    }

    /** Parses and checks the record; any damage is a {@link SaveFormatException} saying what. */
    public static PvDomainState fromBytes(byte[] b) throws SaveFormatException {
        Payload.In in = new Payload.In(b, "the PV_DOMAIN record");
        if (b.length < 8 || in.i32() != MAGIC) {
            throw new SaveFormatException("the PV_DOMAIN record is damaged (no XJPV magic)");
        }
        int version = in.i32();
        if (version != VERSION) {
            throw new SaveFormatException("the PV_DOMAIN record is version " + version + " (this xenj reads " + VERSION + ")");
        }
        try {
            int[] p2m = ints(in);
            int[] special = ints(in);
            int sharedInfo = in.i32(), consoleMfn = in.i32(), consolePort = in.i32(), storeMfn = in.i32(), storePort = in.i32();
            int vmAssist = in.i32(), nrPages = in.i32();
            long maxPages = in.i64();
            int nv = in.count(64);
            if (nv < 1 || nv > MAX_VCPUS) {
                throw new SaveFormatException("the PV_DOMAIN record is damaged (" + nv + " vCPUs)");
            }
            List<Vcpu> vcpus = new ArrayList<>();
            for (int i = 0; i < nv; i++) {
                int[] traps = ints(in);
                int eventCs = in.i32(), eventEip = in.i32(), failsafeCs = in.i32(), failsafeEip = in.i32();
                boolean masks = bool(in, "failsafe mask");
                int nmi = in.i32(), ss0 = in.i32(), esp0 = in.i32();
                int[] gdt = ints(in);
                int gdtEntries = in.i32(), ldtBase = in.i32(), ldtEntries = in.i32();
                long cr3 = in.i64();
                boolean ts = bool(in, "TS"), up = bool(in, "up"), init = bool(in, "initialised"), down = bool(in, "halted for down");
                vcpus.add(new Vcpu(traps, eventCs, eventEip, failsafeCs, failsafeEip, masks, nmi, ss0, esp0, gdt, gdtEntries, ldtBase,
                        ldtEntries, cr3, ts, up, init, down, in.i64(), in.i64(), in.i64()));
            }
            int[] types = ints(in);
            int[] m2p = ints(in);
            int nw = in.count(12);
            List<Watch> watches = new ArrayList<>();
            for (int i = 0; i < nw; i++) {
                String path = in.str(), token = in.str();
                watches.add(new Watch(path, token, bool(in, "a watch's relative flag")));
            }
            in.end();
            return new PvDomainState(p2m, special, sharedInfo, consoleMfn, consolePort, storeMfn, storePort, vmAssist, nrPages, maxPages,
                    vcpus, types, m2p, watches);
        } catch (IllegalArgumentException e) {
            throw new SaveFormatException("the PV_DOMAIN record is damaged: " + e.getMessage(), e);
        }
    }
}
