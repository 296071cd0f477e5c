package org.xenj.hypervisor.internal.pv;

/**
 * Where a PV kernel starts: registers of vCPU 0 (CS 0xe019, DS/ES/FS/GS/SS 0xe021, ESI =
 * start_info), the page-table base, and the virtual addresses of the start-of-day pages.
 */
public record PvBootState(int eip, int esp, int esi, long cr3, int eflags, int cs, int ds,
        int startInfoVa, int p2mVa, int ptBaseVa, int nrPtFrames, int virtEnd,
        int startInfoPfn, int consolePfn, int storePfn) {
}
