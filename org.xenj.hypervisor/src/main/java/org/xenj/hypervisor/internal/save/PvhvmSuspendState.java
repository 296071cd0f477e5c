package org.xenj.hypervisor.internal.save;

import java.io.IOException;
import java.util.Arrays;

/**
 * The Xen facts of a PVHVM guest saved after it suspended itself through Xen's protocol
 * ({@code control/shutdown = "suspend"}, then {@code SCHEDOP_shutdown(SHUTDOWN_suspend)}): the
 * PVHVM_SUSPEND record, "XJPS" version 1. The guest re-creates its shared_info mapping, vcpu_info,
 * callback, grant frames and event-channel bindings itself when the hypercall returns 0 in the new
 * domain, so what the stream needs is only what a restore must check or put back:
 *
 * @param suspendVcpu     the vCPU that made the suspend hypercall (its EAX is the hypercall's result)
 * @param hypercallPageGpa where the guest placed the hypercall page (in its RAM, saved with it), -1 if nowhere
 * @param storePort       the xenstore event channel the guest bound (HVM_PARAM_STORE_EVTCHN)
 * @param consolePort     the console event channel (HVM_PARAM_CONSOLE_EVTCHN)
 * @param storePfn        HVM_PARAM_STORE_PFN
 * @param consolePfn      HVM_PARAM_CONSOLE_PFN
 * @param xenFrameGfns    guest frames that held Xen's own frames (shared_info, grant table, the store and
 *                        console rings), left out of the page records: the new domain has its own
 */
public record PvhvmSuspendState(int suspendVcpu, long hypercallPageGpa, int storePort, int consolePort, long storePfn, long consolePfn,
        int[] xenFrameGfns) {

    /** "XJPS" as a big-endian int. */
    static final int MAGIC = 0x584a5053;
    static final int VERSION = 1;
    /** More Xen frames than a domain can hold (shared_info + 64 grant frames + 2 rings) is damage. */
    public static final int MAX_XEN_FRAMES = 128;
    /** 2-level event channels: ports 1..4095. */
    static final int MAX_PORT = 4095;

    public PvhvmSuspendState {
        xenFrameGfns = xenFrameGfns.clone();
    }

    @Override
    public int[] xenFrameGfns() {
        return xenFrameGfns.clone();
    }

    public byte[] toBytes() {
        try {
            Payload.Out o = new Payload.Out().i32(MAGIC).i32(VERSION).i32(suspendVcpu).i64(hypercallPageGpa).i32(storePort).i32(consolePort)
                    .i64(storePfn).i64(consolePfn).i32(xenFrameGfns.length);
            for (int g : xenFrameGfns) {
                o.i32(g);
            }
            return o.toBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses and checks the record; any damage is a {@link SaveFormatException} saying what. */
    public static PvhvmSuspendState fromBytes(byte[] b) throws SaveFormatException {
        Payload.In in = new Payload.In(b, "the PVHVM_SUSPEND record");
        if (b.length < 8 || in.i32() != MAGIC) {
            throw new SaveFormatException("the PVHVM_SUSPEND record is damaged (no XJPS magic)");
        }
        int version = in.i32();
        if (version != VERSION) {
            throw new SaveFormatException("PVHVM_SUSPEND record version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        int vcpu = in.i32();
        long hcPage = in.i64();
        int store = in.i32();
        int console = in.i32();
        long storePfn = in.i64();
        long consolePfn = in.i64();
        int n = in.count(4);
        if (n > MAX_XEN_FRAMES) {
            throw new SaveFormatException("the PVHVM_SUSPEND record is damaged (" + n + " Xen frames)");
        }
        int[] gfns = new int[n];
        for (int i = 0; i < n; i++) {
            gfns[i] = in.i32();
        }
        in.end();
        if (vcpu < 0 || vcpu > 127 || hcPage < -1 || hcPage > 0xffffffffL || (hcPage & 0xfff) != 0 && hcPage != -1
                || store < 1 || store > MAX_PORT || console < 1 || console > MAX_PORT || store == console
                || storePfn < 0 || storePfn > 0xfffff || consolePfn < 0 || consolePfn > 0xfffff
                || Arrays.stream(gfns).anyMatch(g -> g < 0) || Arrays.stream(gfns).distinct().count() != n) {
            throw new SaveFormatException("the PVHVM_SUSPEND record is damaged (vCPU " + vcpu + ", hypercall page 0x"
                    + Long.toHexString(hcPage) + ", ports " + store + "/" + console + ", pfns " + storePfn + "/" + consolePfn + ")");
        }
        return new PvhvmSuspendState(vcpu, hcPage, store, console, storePfn, consolePfn, gfns);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PvhvmSuspendState s && s.suspendVcpu == suspendVcpu && s.hypercallPageGpa == hypercallPageGpa
                && s.storePort == storePort && s.consolePort == consolePort && s.storePfn == storePfn && s.consolePfn == consolePfn
                && Arrays.equals(s.xenFrameGfns, xenFrameGfns);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(xenFrameGfns) * 31 + suspendVcpu;
    }

    @Override
    public String toString() {
        return "PvhvmSuspendState[vcpu " + suspendVcpu + ", hypercall page 0x" + Long.toHexString(hypercallPageGpa) + ", store "
                + storePfn + "/port " + storePort + ", console " + consolePfn + "/port " + consolePort + ", Xen frames at "
                + Arrays.toString(xenFrameGfns) + "]";
    }
}
