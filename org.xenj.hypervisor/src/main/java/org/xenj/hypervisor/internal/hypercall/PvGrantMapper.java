package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTMAP_APPLICATION_MAP;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_GENERAL_ERROR;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_OKAY;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.GNTST_BAD_VIRT_ADDR;

import java.util.HashMap;
import java.util.Map;

import org.xenj.hypervisor.internal.gnttab.GrantHostMapper;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * Grant mappings of a PV domain: a PTE in the validated L1 that maps {@code host_addr}, plus the
 * granted frame in the mapper's identity p2m so that its page walks (CPU and hypercalls) reach it.
 */
final class PvGrantMapper implements GrantHostMapper {

    private final XenDomain dom;
    /** Foreign frames mapped into the p2m, with how many grant mappings use each. */
    private final Map<Integer, Integer> foreign = new HashMap<>();

    PvGrantMapper(XenDomain dom) {
        this.dom = dom;
    }

    @Override
    public int install(long hostAddr, int mfn, boolean readonly, int flags) {
        if ((hostAddr & 0xfff) != 0 || hostAddr < 0 || hostAddr > 0xffffffffL) {
            return GNTST_BAD_VIRT_ADDR;
        }
        synchronized (dom.mmuLock) {
            long ptr = ((PvVirtualMemory) dom.view(0)).l1EntryAddress((int) hostAddr);
            if (ptr < 0) {
                return GNTST_BAD_VIRT_ADDR;
            }
            long pte = (long) mfn << 12 | 0x61 | (readonly ? 0 : 2) | ((flags & GNTMAP_APPLICATION_MAP) != 0 ? 4 : 0);
            boolean own = dom.machine.owner(mfn) == dom.domid;
            if (!own && dom.memory.mfn(mfn) != DomainMemory.INVALID_MFN && !foreign.containsKey(mfn)) {
                return GNTST_GENERAL_ERROR;
            }
            if (dom.pageTables.writeForeignL1e(ptr, pte) != 0) {
                return GNTST_GENERAL_ERROR; // something is mapped there already
            }
            if (!own && foreign.merge(mfn, 1, Integer::sum) == 1) {
                dom.memory.mapFrame(mfn, mfn);
            }
            dom.vcpus[0].tlbFlushRequested = true;
            return GNTST_OKAY;
        }
    }

    @Override
    public int remove(long hostAddr, int mfn) {
        synchronized (dom.mmuLock) {
            boolean cleared = false;
            if (hostAddr >= 0 && hostAddr <= 0xffffffffL) {
                long ptr = ((PvVirtualMemory) dom.view(0)).l1EntryAddress((int) hostAddr);
                cleared = ptr >= 0 && dom.pageTables.clearForeignL1e(ptr, mfn);
            }
            Integer n = foreign.get(mfn);
            if (n != null) {
                if (n == 1) {
                    foreign.remove(mfn);
                    dom.memory.unmapFrame(mfn);
                } else {
                    foreign.put(mfn, n - 1);
                }
            }
            for (XenVcpu v : dom.vcpus) {
                v.tlbFlushRequested = true;
            }
            return cleared ? GNTST_OKAY : GNTST_GENERAL_ERROR;
        }
    }
}
