package org.xenj.dom0.blkback.internal;

/** Constants of Xen's {@code io/blkif.h}: operations, statuses, limits, {@code info} bits. */
final class Blkif {

    static final int OP_READ = 0;
    static final int OP_WRITE = 1;
    static final int OP_WRITE_BARRIER = 2;
    static final int OP_FLUSH_DISKCACHE = 3;
    static final int OP_DISCARD = 5;
    static final int OP_INDIRECT = 6;

    static final short RSP_OKAY = 0;
    static final short RSP_ERROR = -1;
    static final short RSP_EOPNOTSUPP = -2;

    /** Segments in a direct request. */
    static final int MAX_SEGMENTS = 11;
    /** Segments per indirect request we advertise ({@code feature-max-indirect-segments}), as Linux's blkback. */
    static final int MAX_INDIRECT_SEGMENTS = 256;
    /** Grant refs of indirect segment pages a request may carry. */
    static final int MAX_INDIRECT_PAGES = 8;
    /** {@code blkif_request_segment}: gref (4), first_sect (1), last_sect (1), pad (2). */
    static final int SEGMENT_SIZE = 8;
    static final int SEGMENTS_PER_INDIRECT_PAGE = 4096 / SEGMENT_SIZE;
    /** 512-byte sectors per 4 KiB page: first_sect/last_sect go up to 7. */
    static final int SECTORS_PER_PAGE = 8;
    static final int SECTOR_SIZE = 512;
    /** Largest ring we accept: {@code max-ring-page-order} 4 = 16 pages, as Linux's blkback. */
    static final int MAX_RING_PAGE_ORDER = 4;

    static final int VDISK_CDROM = 1;
    static final int VDISK_REMOVABLE = 2;
    static final int VDISK_READONLY = 4;

    private Blkif() {
    }

    static String opName(int op) {
        switch (op) {
            case OP_READ: return "read";
            case OP_WRITE: return "write";
            case OP_WRITE_BARRIER: return "write-barrier";
            case OP_FLUSH_DISKCACHE: return "flush-diskcache";
            case OP_DISCARD: return "discard";
            case OP_INDIRECT: return "indirect";
            default: return "op " + op;
        }
    }
}
