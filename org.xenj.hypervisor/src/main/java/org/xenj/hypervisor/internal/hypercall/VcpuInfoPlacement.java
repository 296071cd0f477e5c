package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.VCPU_INFO_SIZE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EINVAL;

/**
 * VCPUOP_register_vcpu_info (vcpu.h): the guest moves a vCPU's vcpu_info out of shared_info into
 * a page of its own, {@code struct vcpu_register_vcpu_info { uint64 mfn; uint32 offset; uint32 rsvd; }}.
 * The frame is a machine frame for PV and a guest frame for HVM, and must be the domain's own
 * RAM; the structure must fit in the page; a vCPU moves once (Xen answers -EINVAL again).
 * Linux 6.1 requires this call on HVM and panics without it.
 */
final class VcpuInfoPlacement {

    private VcpuInfoPlacement() {
    }

    static int register(HypercallContext c, int vcpuId, int arg) {
        XenDomain d = c.domain;
        c.memory.checkReadable(arg, 16);
        long frame = c.memory.read64(arg);
        int offset = c.memory.read32(arg + 8);
        if (offset < 0 || offset > 4096 - VCPU_INFO_SIZE || frame < 0 || frame > Integer.MAX_VALUE) {
            return -EINVAL;
        }
        int mfn;
        if (d.pv) {
            mfn = (int) frame;
            if (d.memory.mfn(frame) != frame) {
                return -EINVAL;
            }
        } else {
            mfn = d.memory.ownFrameForWrite(frame); // written by mfn from now on: never a shared frame
        }
        if (mfn < 0 || d.machine.owner(mfn) != d.domid || d.isSpecialFrame(mfn)
                || d.pageTables != null && d.pageTables.typeOf(mfn) != org.xenj.hypervisor.internal.mem.PvPageTables.NONE) {
            return -EINVAL;
        }
        synchronized (d.events) {
            if (d.events.vcpuInfoMoved(vcpuId)) {
                return -EINVAL;
            }
            d.events.moveVcpuInfo(vcpuId, ((long) mfn << 12) + offset);
        }
        d.updateTime(vcpuId);
        return 0;
    }
}
