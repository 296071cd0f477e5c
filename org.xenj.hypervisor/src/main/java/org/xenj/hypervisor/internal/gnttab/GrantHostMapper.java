package org.xenj.hypervisor.internal.gnttab;

/**
 * How a mapping domain receives a granted frame at {@code host_addr}: a PTE in a PV guest's
 * validated L1 table, a p2m entry for HVM, nothing for Domain 0 (its Java backends access the
 * frame through the grant handle).
 */
public interface GrantHostMapper {

    /** Installs the mapping; returns {@code GNTST_okay} or a GNTST_* error having changed nothing. */
    int install(long hostAddr, int mfn, boolean readonly, int gntmapFlags);

    /** Removes a mapping installed by {@link #install}; returns GNTST_okay or GNTST_general_error if it no longer matches. */
    int remove(long hostAddr, int mfn);

    /** Domain 0: nothing to install. */
    GrantHostMapper NONE = new GrantHostMapper() {
        @Override
        public int install(long hostAddr, int mfn, boolean readonly, int flags) {
            return 0;
        }

        @Override
        public int remove(long hostAddr, int mfn) {
            return 0;
        }
    };
}
