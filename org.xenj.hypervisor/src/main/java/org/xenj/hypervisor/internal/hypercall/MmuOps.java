package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.MMUEXT_OP_SIZE;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.MMU_UPDATE_SIZE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.internal.mem.PvPageTables;

/** mmu_update, mmuext_op and update_va_mapping: every page-table change goes through {@link PvPageTables}. */
final class MmuOps {

    private static final int MAX_BATCH = 1 << 16;

    private MmuOps() {
    }

    private static int checkBatch(HypercallContext c, int count, int pdone, int foreigndom) {
        if (!c.domain.pv) {
            return -ENOSYS;
        }
        if (count < 0 || count > MAX_BATCH) {
            return -EINVAL;
        }
        if (!XenHypercalls.isSelf(c, foreigndom)) {
            return -ESRCH; // no foreign page-table updates for unprivileged domains
        }
        if (pdone != 0) {
            c.memory.checkWritable(pdone, 4);
        }
        return 0;
    }

    private static void flushAll(XenDomain d) {
        for (XenVcpu v : d.vcpus) {
            v.tlbFlushRequested = true;
        }
    }

    static int mmuUpdate(HypercallContext c, int reqs, int count, int pdone, int foreigndom, int a5) {
        int rc = checkBatch(c, count, pdone, foreigndom);
        if (rc != 0) {
            return rc;
        }
        XenDomain d = c.domain;
        int done = 0;
        synchronized (d.mmuLock) {
            try {
                for (; done < count; done++) {
                    int r = reqs + done * MMU_UPDATE_SIZE;
                    long ptr = c.memory.read64(r);
                    long val = c.memory.read64(r + 8);
                    int cmd = (int) (ptr & 3);
                    switch (cmd) {
                        case MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_PRESERVE_AD -> rc = d.pageTables.updateEntry(ptr & ~3L, val);
                        case MMU_MACHPHYS_UPDATE -> {
                            long mfn = ptr >>> 12;
                            rc = d.pageTables.owns(mfn) ? d.setM2p((int) mfn, (int) val) : -EPERM;
                        }
                        default -> rc = -ENOSYS;
                    }
                    if (rc != 0) {
                        break;
                    }
                }
            } finally {
                flushAll(d);
                if (pdone != 0) {
                    c.memory.write32(pdone, done);
                }
            }
        }
        return rc;
    }

    static int mmuextOp(HypercallContext c, int ops, int count, int pdone, int foreigndom, int a5) {
        int rc = checkBatch(c, count, pdone, foreigndom);
        if (rc != 0) {
            return rc;
        }
        XenDomain d = c.domain;
        PvPageTables pt = d.pageTables;
        int done = 0;
        synchronized (d.mmuLock) {
            try {
                for (; done < count; done++) {
                    int o = ops + done * MMUEXT_OP_SIZE;
                    int cmd = c.memory.read32(o);
                    int arg1 = c.memory.read32(o + 4);
                    int arg2 = c.memory.read32(o + 8);
                    rc = switch (cmd) {
                        case MMUEXT_PIN_L1_TABLE -> pt.pin(arg1, PvPageTables.L1);
                        case MMUEXT_PIN_L2_TABLE -> pt.pin(arg1, PvPageTables.L2);
                        case MMUEXT_PIN_L3_TABLE -> pt.pin(arg1, PvPageTables.L3);
                        case MMUEXT_PIN_L4_TABLE -> -EINVAL;
                        case MMUEXT_UNPIN_TABLE -> pt.unpin(arg1);
                        case MMUEXT_NEW_BASEPTR -> newBaseptr(c, arg1);
                        case MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_INVLPG_LOCAL -> {
                            c.vcpu.tlbFlushRequested = true;
                            yield 0;
                        }
                        case MMUEXT_TLB_FLUSH_MULTI, MMUEXT_INVLPG_MULTI, MMUEXT_TLB_FLUSH_ALL, MMUEXT_INVLPG_ALL -> {
                            flushAll(d);
                            yield 0;
                        }
                        case MMUEXT_FLUSH_CACHE -> 0;
                        case MMUEXT_SET_LDT -> setLdt(c, arg1, arg2);
                        default -> -ENOSYS;
                    };
                    if (rc != 0) {
                        break;
                    }
                }
            } finally {
                if (pdone != 0) {
                    c.memory.write32(pdone, done);
                }
            }
        }
        return rc;
    }

    private static int newBaseptr(HypercallContext c, int mfn) {
        PvPageTables pt = c.domain.pageTables;
        int rc = pt.getType(mfn, PvPageTables.L3);
        if (rc != 0) {
            return rc;
        }
        long old = c.vcpu.cr3;
        c.vcpu.cr3 = (long) mfn << 12;
        if (old != 0) {
            pt.putType((int) (old >>> 12));
        }
        c.vcpu.tlbFlushRequested = true;
        return 0;
    }

    private static int setLdt(HypercallContext c, int base, int entries) {
        if ((base & 0xfff) != 0 || entries < 0 || entries > 8192
                || entries != 0 && Integer.compareUnsigned(base + entries * 8, HYPERVISOR_VIRT_START) > 0) {
            return -EINVAL;
        }
        c.vcpu.ldtBase = base;
        c.vcpu.ldtEntries = entries;
        return 0;
    }

    static int updateVaMapping(HypercallContext c, int va, int lo, int hi, int flags, int a5) {
        XenDomain d = c.domain;
        if (!d.pv) {
            return -ENOSYS;
        }
        if (Integer.compareUnsigned(va, HYPERVISOR_VIRT_START) >= 0) {
            return -EINVAL;
        }
        long pte = (long) hi << 32 | lo & 0xffffffffL;
        int rc;
        synchronized (d.mmuLock) {
            long ptr = ((PvVirtualMemory) c.memory).l1EntryAddress(va);
            if (ptr < 0 || d.pageTables.typeOf((int) (ptr >>> 12)) != PvPageTables.L1) {
                return -EINVAL;
            }
            rc = d.pageTables.updateEntry(ptr, pte);
        }
        if ((flags & UVMF_FLUSHTYPE_MASK) != 0) {
            flushAll(d);
        }
        c.vcpu.tlbFlushRequested = true;
        return rc;
    }
}
