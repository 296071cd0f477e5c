package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.GNTTAB_COPY_SIZE;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.GNTTAB_MAP_SIZE;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.GNTTAB_UNMAP_SIZE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.internal.gnttab.GrantTable;

/** grant_table_op, version 1: setup_table, query_size, map/unmap_grant_ref, copy. Per-op status, as Xen. */
final class GrantTableOps {

    private static final int MAX_BATCH = 4096;

    private GrantTableOps() {
    }

    static int grantTableOp(HypercallContext c, int cmd, int uop, int count, int a4, int a5) {
        if (count < 0 || count > MAX_BATCH) {
            return -EINVAL;
        }
        GuestVirtualMemory m = c.memory;
        GrantTable t = c.domain.gnttab;
        switch (cmd) {
            case GNTTABOP_SETUP_TABLE -> {
                m.checkWritable(uop, 16 * count);
                for (int i = 0; i < count; i++) {
                    int op = uop + 16 * i;
                    int nr = m.read32(op + 4);
                    int list = m.read32(op + 12);
                    if (!XenHypercalls.isSelf(c, m.read16(op))) {
                        m.write16(op + 8, GNTST_PERMISSION_DENIED);
                        continue;
                    }
                    if (nr < 0 || nr > t.maxFrames()) {
                        m.write16(op + 8, GNTST_GENERAL_ERROR);
                        continue;
                    }
                    m.checkWritable(list, 4 * nr);
                    int[] frames = new int[nr];
                    int st = t.setup(nr, frames);
                    if (st == GNTST_OKAY) {
                        for (int k = 0; k < nr; k++) {
                            m.write32(list + 4 * k, frames[k]);
                        }
                    }
                    m.write16(op + 8, st);
                }
                return 0;
            }
            case GNTTABOP_QUERY_SIZE -> {
                m.checkWritable(uop, 16 * count);
                for (int i = 0; i < count; i++) {
                    int op = uop + 16 * i;
                    if (!XenHypercalls.isSelf(c, m.read16(op))) {
                        m.write16(op + 12, GNTST_PERMISSION_DENIED);
                        continue;
                    }
                    m.write32(op + 4, t.nrFrames());
                    m.write32(op + 8, t.maxFrames());
                    m.write16(op + 12, GNTST_OKAY);
                }
                return 0;
            }
            case GNTTABOP_MAP_GRANT_REF -> {
                m.checkWritable(uop, GNTTAB_MAP_SIZE * count);
                long[] dev = new long[1];
                for (int i = 0; i < count; i++) {
                    int op = uop + GNTTAB_MAP_SIZE * i;
                    long host = m.read64(op);
                    int flags = m.read32(op + 8);
                    int ref = m.read32(op + 12);
                    int dom = m.read16(op + 16);
                    int h = t.map(dom, ref, flags, host, dev);
                    if (h < 0) {
                        m.write16(op + 18, h);
                        continue;
                    }
                    m.write16(op + 18, GNTST_OKAY);
                    m.write32(op + 20, h);
                    m.write64(op + 24, dev[0]);
                }
                return 0;
            }
            case GNTTABOP_UNMAP_GRANT_REF -> {
                m.checkWritable(uop, GNTTAB_UNMAP_SIZE * count);
                for (int i = 0; i < count; i++) {
                    int op = uop + GNTTAB_UNMAP_SIZE * i;
                    m.write16(op + 20, t.unmap(m.read32(op + 16), m.read64(op)));
                }
                return 0;
            }
            case GNTTABOP_COPY -> {
                m.checkWritable(uop, GNTTAB_COPY_SIZE * count);
                for (int i = 0; i < count; i++) {
                    int op = uop + GNTTAB_COPY_SIZE * i;
                    int st = t.copy(m.read16(op + 18), m.read32(op), m.read16(op + 4), m.read16(op + 6),
                            m.read32(op + 8), m.read16(op + 12), m.read16(op + 14), m.read16(op + 16));
                    m.write16(op + 20, st);
                }
                return 0;
            }
            case GNTTABOP_SET_VERSION -> {
                return -ENOSYS; // only v1 grant tables
            }
            default -> {
                return -ENOSYS;
            }
        }
    }
}
