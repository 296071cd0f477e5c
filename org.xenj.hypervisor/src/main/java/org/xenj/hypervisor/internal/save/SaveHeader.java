package org.xenj.hypervisor.internal.save;

import java.io.IOException;
import java.util.UUID;

/**
 * The first record: what the stream is and what it needs. The magic and format version are
 * checked before anything else; the host and guest facts let a restore say clearly why it cannot
 * take the image (another page size, a domain type this version cannot restore).
 *
 * @param xenjVersion       the writing hypervisor's version string
 * @param host              the writing host's name
 * @param pageSize          bytes per page (4096)
 * @param domainType        the saved domain's type ({@code HVM})
 * @param vcpus             vCPUs saved (one VCPU record each)
 * @param memoryMiB         configured memory
 * @param name              the domain's name when saved
 * @param uuid              the domain's UUID (a restore keeps it, as xl does)
 * @param savedAtMillis     host wall time of the save
 * @param guestNanos        the domain's clock (guest time since power-on) at the save
 * @param tscHz             the domain's TSC frequency
 * @param wallclockAtEpochNanos the domain's wallclock base (Unix ns at guest time 0)
 * @param pages             populated guest frames in the stream (page batches plus zero pages)
 */
public record SaveHeader(String xenjVersion, String host, int pageSize, String domainType, int vcpus, long memoryMiB, String name,
        UUID uuid, long savedAtMillis, long guestNanos, long tscHz, long wallclockAtEpochNanos, long pages) {

    /** "XENJSAVE" as a big-endian long. */
    public static final long MAGIC = 0x58454e4a53415645L;
    /** The stream format this code writes and the only one it reads. */
    public static final int FORMAT_VERSION = 1;

    byte[] toBytes() throws IOException {
        return new Payload.Out().i64(MAGIC).i32(FORMAT_VERSION).str(xenjVersion).str(host).i32(pageSize).str(domainType).i32(vcpus)
                .i64(memoryMiB).str(name).i64(uuid.getMostSignificantBits()).i64(uuid.getLeastSignificantBits()).i64(savedAtMillis)
                .i64(guestNanos).i64(tscHz).i64(wallclockAtEpochNanos).i64(pages).toBytes();
    }

    static SaveHeader parse(byte[] payload) throws SaveFormatException {
        Payload.In in = new Payload.In(payload, "the header record");
        if (payload.length < 12 || in.i64() != MAGIC) {
            throw new SaveFormatException("not a xenj save image (its header record has no XENJSAVE magic)");
        }
        int version = in.i32();
        if (version != FORMAT_VERSION) {
            throw new SaveFormatException("save format version " + version + " is not supported (this xenj reads version "
                    + FORMAT_VERSION + ")");
        }
        SaveHeader h = new SaveHeader(in.str(), in.str(), in.i32(), in.str(), in.i32(), in.i64(), in.str(), new UUID(in.i64(), in.i64()),
                in.i64(), in.i64(), in.i64(), in.i64(), in.i64());
        in.end();
        if (h.pageSize != 4096) {
            throw new SaveFormatException("the image has " + h.pageSize + "-byte pages; this host has 4096");
        }
        if (h.vcpus < 1 || h.vcpus > 128 || h.memoryMiB < 1 || h.pages < 0 || h.pages > h.memoryMiB * 256 + 65536 || h.name == null
                || h.domainType == null || h.guestNanos < 0 || h.tscHz <= 0 || h.tscHz > 3_000_000_000L) {
            throw new SaveFormatException("the header record is damaged (vcpus " + h.vcpus + ", memory " + h.memoryMiB + " MiB, pages "
                    + h.pages + ")");
        }
        return h;
    }
}
