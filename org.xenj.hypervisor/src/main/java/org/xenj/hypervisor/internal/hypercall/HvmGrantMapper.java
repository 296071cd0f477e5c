package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_BAD_VIRT_ADDR;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_GENERAL_ERROR;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_OKAY;

import org.xenj.hypervisor.internal.gnttab.GrantHostMapper;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/** Grant mappings of an HVM domain: the granted frame appears at guest-physical {@code host_addr}, which must be a hole. */
final class HvmGrantMapper implements GrantHostMapper {

    private final XenDomain dom;

    HvmGrantMapper(XenDomain dom) {
        this.dom = dom;
    }

    @Override
    public int install(long hostAddr, int mfn, boolean readonly, int flags) {
        if ((hostAddr & 0xfff) != 0 || hostAddr < 0 || hostAddr >= (1L << 32)) {
            return GNTST_BAD_VIRT_ADDR;
        }
        synchronized (dom.mmuLock) {
            if (dom.memory.mfn(hostAddr >>> 12) != DomainMemory.INVALID_MFN) {
                return GNTST_GENERAL_ERROR;
            }
            dom.memory.mapFrame(hostAddr >>> 12, mfn);
            return GNTST_OKAY;
        }
    }

    @Override
    public int remove(long hostAddr, int mfn) {
        synchronized (dom.mmuLock) {
            if (hostAddr < 0 || dom.memory.mfn(hostAddr >>> 12) != mfn) {
                return GNTST_GENERAL_ERROR;
            }
            dom.memory.unmapFrame(hostAddr >>> 12);
            return GNTST_OKAY;
        }
    }
}
