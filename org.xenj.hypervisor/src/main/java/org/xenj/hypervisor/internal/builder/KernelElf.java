package org.xenj.hypervisor.internal.builder;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.GZIPInputStream;

import org.tukaani.xz.SingleXZInputStream;

/**
 * The ELF kernel a {@code type="pvh"} domain boots, taken from a plain {@code vmlinux} or unpacked
 * from a bzImage as Xen's own loader does for PV and PVH guests: the setup header's
 * {@code payload_offset}/{@code payload_length} (boot protocol 2.08+) name the compressed
 * {@code vmlinux} inside the protected-mode part, and Linux appends its uncompressed size as the
 * payload's last four bytes. xz (Debian's kernels) is unpacked with XZ for Java (org.tukaani:xz,
 * which also applies the x86 BCJ filter Linux's xz_wrap.sh adds) and gzip with the JDK; the other
 * compressors are refused by name. Bad input is an {@link IllegalArgumentException} with the reason.
 */
public final class KernelElf {

    /** No i386 kernel unpacks to more than this; a payload that claims more is refused before allocating. */
    static final int MAX_UNPACKED = 256 << 20;
    private static final int ELF_MAGIC = 0x464c457f;

    private KernelElf() {
    }

    /** Whether {@code image} is a bzImage (boot sector signature and "HdrS"). */
    static boolean isBzImage(byte[] image) {
        if (image.length < 0x270) {
            return false;
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        return (b.getShort(0x1fe) & 0xffff) == 0xaa55 && b.getInt(0x202) == BzImage.HDRS_MAGIC;
    }

    /** The ELF image: {@code image} itself if it is one, else the payload of a bzImage. */
    public static byte[] of(byte[] image) {
        if (image.length >= 4 && ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == ELF_MAGIC) {
            return image;
        }
        if (!isBzImage(image)) {
            throw new IllegalArgumentException("neither an ELF kernel nor a bzImage");
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int protocol = b.getShort(0x206) & 0xffff;
        if (protocol < 0x0208) {
            throw new IllegalArgumentException(String.format(
                    "bzImage boot protocol %d.%02d has no payload fields (2.08 or newer needed)", protocol >> 8, protocol & 0xff));
        }
        int setupSects = image[0x1f1] & 0xff;
        long start = (long) ((setupSects == 0 ? 4 : setupSects) + 1) * 512 + (b.getInt(0x248) & 0xffffffffL);
        long length = b.getInt(0x24c) & 0xffffffffL;
        if (length < 8 || start + length > image.length) {
            throw new IllegalArgumentException(String.format("bzImage payload at 0x%x+0x%x lies outside the %d-byte file",
                    start, length, image.length));
        }
        int off = (int) start;
        int len = (int) length;
        long declared = b.getInt(off + len - 4) & 0xffffffffL;
        if (declared > MAX_UNPACKED) {
            throw new IllegalArgumentException("bzImage payload claims to unpack to " + (declared >> 20) + " MiB (at most "
                    + (MAX_UNPACKED >> 20) + " MiB)");
        }
        byte[] elf;
        try (InputStream in = decompressor(image, off, len)) {
            elf = readAtMost(in, (int) declared);
        } catch (IOException e) {
            throw new IllegalArgumentException("bzImage payload does not unpack: " + e.getMessage(), e);
        }
        if (elf.length != declared) {
            throw new IllegalArgumentException("bzImage payload unpacks to " + elf.length + " bytes, its trailer says " + declared);
        }
        if (elf.length < 4 || ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).getInt(0) != ELF_MAGIC) {
            throw new IllegalArgumentException("bzImage payload is not an ELF kernel");
        }
        return elf;
    }

    private static InputStream decompressor(byte[] image, int off, int len) throws IOException {
        ByteArrayInputStream raw = new ByteArrayInputStream(image, off, len);
        int m0 = image[off] & 0xff, m1 = image[off + 1] & 0xff;
        if (m0 == 0xfd && m1 == '7' && image[off + 2] == 'z' && image[off + 3] == 'X' && image[off + 4] == 'Z') {
            // one xz stream; what follows it is Linux's size trailer, not another stream
            return new SingleXZInputStream(raw, 64 << 10); // limit in KiB: xz_wrap.sh's dictionary is at most 32 MiB
        }
        if (m0 == 0x1f && m1 == 0x8b) {
            return new GZIPInputStream(raw);
        }
        String kind = m0 == 'B' && m1 == 'Z' ? "bzip2" : m0 == 0x5d && m1 == 0 ? "lzma" : m0 == 0x89 && m1 == 'L' ? "lzo"
                : m0 == 0x02 && m1 == 0x21 ? "lz4" : m0 == 0x28 && m1 == 0xb5 ? "zstd" : null;
        throw new IllegalArgumentException(kind != null
                ? "bzImage payload is " + kind + "-compressed; xenj unpacks xz and gzip kernels (or give the vmlinux ELF)"
                : String.format("bzImage payload has an unknown format (starts %02x %02x)", m0, m1));
    }

    /** Reads the stream to its end, failing once it yields more than {@code limit} bytes. */
    private static byte[] readAtMost(InputStream in, int limit) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(limit, 1 << 20));
        byte[] buf = new byte[64 << 10];
        int n;
        while ((n = in.read(buf)) > 0) {
            if (out.size() + (long) n > limit) {
                throw new IOException("it unpacks to more than the " + limit + " bytes its trailer declares");
            }
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }
}
