package org.xenj.dom0.blkback.internal;

/**
 * The two request/response layouts of Xen's {@code io/blkif.h} that a frontend names in its
 * {@code protocol} node. They differ only in alignment: on x86_32 the 64-bit request id follows
 * the 4-byte head directly, on x86_64 it is padded to offset 8. Responses are id (8 bytes),
 * operation (1), status (2, signed), padded to 12 or 16 bytes.
 */
enum BlkifAbi {
    X86_32("x86_32-abi", 4, 108, 12),
    X86_64("x86_64-abi", 8, 112, 16);

    /** Written by the frontend in {@code protocol}; absent means the backend's native ABI (x86_64, as on Xen). */
    final String protocolName;
    /** Offset of {@code id}; {@code sector_number} follows 8 bytes later, the segments 16 bytes later. */
    final int idOffset;
    final int requestSize;
    final int responseSize;

    BlkifAbi(String protocolName, int idOffset, int requestSize, int responseSize) {
        this.protocolName = protocolName;
        this.idOffset = idOffset;
        this.requestSize = requestSize;
        this.responseSize = responseSize;
    }

    int sectorOffset() {
        return idOffset + 8;
    }

    /** First {@code blkif_request_segment} of a READ/WRITE/FLUSH/BARRIER request. */
    int segmentsOffset() {
        return idOffset + 16;
    }

    /** {@code nr_sectors} of a DISCARD request. */
    int discardSectorsOffset() {
        return idOffset + 16;
    }

    /** {@code indirect_grefs[]} of an INDIRECT request (after the handle and its 2-byte pad). */
    int indirectGrefsOffset() {
        return idOffset + 20;
    }

    /** The layout a {@code protocol} value names; null for one we do not know. */
    static BlkifAbi ofProtocol(String protocol) {
        if (protocol == null || protocol.isEmpty()) {
            return X86_64;
        }
        for (BlkifAbi a : values()) {
            if (a.protocolName.equals(protocol)) {
                return a;
            }
        }
        return null;
    }
}
