package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.MEM_RESERVATION_SIZE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * memory_op: ballooning (increase/decrease/populate), reservation queries, add_to_physmap for
 * HVM, the pseudo-physical memory map and the M2P location. Reservation ops return how many
 * extents they completed, as Xen does.
 */
final class MemoryOps {

    private static final int MEMOP_CMD_MASK = 0x3f;

    private MemoryOps() {
    }

    static int memoryOp(HypercallContext c, int cmdRaw, int arg, int a3, int a4, int a5) {
        int cmd = cmdRaw & MEMOP_CMD_MASK;
        GuestVirtualMemory m = c.memory;
        XenDomain d = c.domain;
        switch (cmd) {
            case XENMEM_INCREASE_RESERVATION, XENMEM_POPULATE_PHYSMAP, XENMEM_DECREASE_RESERVATION -> {
                m.checkReadable(arg, MEM_RESERVATION_SIZE);
                int list = m.read32(arg);
                int nr = m.read32(arg + 4);
                int order = m.read32(arg + 8);
                if (!XenHypercalls.isSelf(c, m.read16(arg + 16))) {
                    return -EPERM;
                }
                if (order != 0 || nr < 0) {
                    return -EINVAL; // only single pages
                }
                if (nr > 0 && list != 0) {
                    m.checkWritable(list, 4 * nr);
                }
                return switch (cmd) {
                    case XENMEM_DECREASE_RESERVATION -> decrease(c, list, nr);
                    case XENMEM_POPULATE_PHYSMAP -> populate(c, list, nr);
                    default -> increase(c, list, nr);
                };
            }
            case XENMEM_CURRENT_RESERVATION, XENMEM_MAXIMUM_RESERVATION -> {
                if (!XenHypercalls.isSelf(c, m.read16(arg))) {
                    return -EPERM;
                }
                return (int) (cmd == XENMEM_CURRENT_RESERVATION ? d.currentPages() : d.maxPages);
            }
            case XENMEM_MAXIMUM_RAM_PAGE -> {
                return d.machine.totalFrames() - 1;
            }
            case XENMEM_ADD_TO_PHYSMAP -> {
                return addToPhysmap(c, arg);
            }
            case XENMEM_MEMORY_MAP -> {
                m.checkWritable(arg, 8);
                int capacity = m.read32(arg);
                int buffer = m.read32(arg + 4);
                if (capacity < 1) {
                    return -EINVAL;
                }
                m.checkWritable(buffer, 20);
                m.write64(buffer, 0);
                m.write64(buffer + 8, d.pv ? (long) d.pseudoPhysPages() << 12 : d.memory.size());
                m.write32(buffer + 16, 1); // E820_RAM
                m.write32(arg, 1);
                return 0;
            }
            case XENMEM_MACHPHYS_MAPPING -> {
                m.checkWritable(arg, 12);
                m.write32(arg, MACH2PHYS_VIRT_START);
                m.write32(arg + 4, MACH2PHYS_VIRT_END);
                m.write32(arg + 8, d.machine.totalFrames() - 1);
                return 0;
            }
            default -> {
                return -ENOSYS;
            }
        }
    }

    private static int increase(HypercallContext c, int list, int nr) {
        XenDomain d = c.domain;
        long current = d.currentPages();
        int done = 0;
        for (; done < nr; done++) {
            if (current + done >= d.maxPages) {
                break;
            }
            int mfn;
            try {
                mfn = d.pv ? d.memory.populateIdentity(1)[0] : -1;
            } catch (RuntimeException e) {
                break; // host memory exhausted
            }
            if (mfn < 0) {
                break; // HVM guests use populate_physmap
            }
            if (list != 0) {
                c.memory.write32(list + 4 * done, mfn);
            }
        }
        return done;
    }

    private static int populate(HypercallContext c, int list, int nr) {
        XenDomain d = c.domain;
        if (list == 0 && nr > 0) {
            return -EFAULT;
        }
        long current = d.currentPages();
        int done = 0;
        for (; done < nr; done++) {
            if (current + done >= d.maxPages) {
                break;
            }
            int gpfn = c.memory.read32(list + 4 * done);
            try {
                if (d.pv) {
                    int mfn = d.memory.populateIdentity(1)[0];
                    d.setM2p(mfn, gpfn);
                    c.memory.write32(list + 4 * done, mfn);
                } else {
                    if (gpfn < 0 || d.memory.mfn(gpfn) != DomainMemory.INVALID_MFN) {
                        break;
                    }
                    d.memory.populate(gpfn, 1);
                }
            } catch (RuntimeException e) {
                break;
            }
        }
        return done;
    }

    private static int decrease(HypercallContext c, int list, int nr) {
        XenDomain d = c.domain;
        if (list == 0 && nr > 0) {
            return -EFAULT;
        }
        int done = 0;
        for (; done < nr; done++) {
            int frame = c.memory.read32(list + 4 * done);
            synchronized (d.mmuLock) {
                int mfn = d.memory.mfn(frame & 0xffffffffL);
                if (mfn < 0 || d.isSpecialFrame(mfn) || d.machine.owner(mfn) != d.domid
                        || d.pv && !d.pageTables.releasable(mfn)) {
                    break; // not ours, in use as a page table / mapped, or a hypervisor page
                }
                d.memory.release(frame & 0xffffffffL);
                if (d.pv) {
                    d.setM2p(mfn, -1);
                }
            }
        }
        return done;
    }

    private static int addToPhysmap(HypercallContext c, int arg) {
        XenDomain d = c.domain;
        GuestVirtualMemory m = c.memory;
        m.checkReadable(arg, 16);
        if (!XenHypercalls.isSelf(c, m.read16(arg))) {
            return -EPERM;
        }
        if (d.pv) {
            return -EACCES; // only translated (HVM) guests place frames in their physmap
        }
        int space = m.read32(arg + 4);
        int idx = m.read32(arg + 8);
        int gpfn = m.read32(arg + 12);
        int mfn;
        switch (space) {
            case XENMAPSPACE_SHARED_INFO -> {
                if (idx != 0) {
                    return -EINVAL;
                }
                mfn = d.sharedInfoMfn;
            }
            case XENMAPSPACE_GRANT_TABLE -> {
                if (idx < 0 || idx >= d.gnttab.maxFrames()) {
                    return -EINVAL;
                }
                if (idx >= d.gnttab.nrFrames() && d.gnttab.setup(idx + 1, new int[idx + 1]) != GNTST_OKAY) {
                    return -ENOMEM;
                }
                mfn = d.gnttab.frameMfn(idx);
            }
            default -> {
                return -EINVAL;
            }
        }
        if (gpfn < 0) {
            return -EINVAL;
        }
        synchronized (d.mmuLock) {
            for (long g = 0; g < d.memory.gfnLimit(); g++) {
                if (d.memory.mfn(g) == mfn) {
                    d.memory.unmapFrame(g); // a frame appears at one place only
                }
            }
            if (d.memory.mfn(gpfn) != DomainMemory.INVALID_MFN) {
                d.memory.release(gpfn); // the RAM page there goes back, as in Xen
            }
            d.memory.mapFrame(gpfn, mfn);
        }
        return 0;
    }
}
