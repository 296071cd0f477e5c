package org.xenj.hypervisor.internal.builder;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The few ACPI Machine Language encodings the DSDT of {@link AcpiTables} needs (ACPI 6.4 §20.2):
 * names, integers, strings, packages, buffers, scopes, devices, methods and {@code Notify}, each as its bytes. Lengths use the
 * PkgLength encoding (§20.2.4: one byte up to 63, else a lead byte with the count of following
 * bytes and the low nibble).
 */
final class Aml {

    static final int NAME_OP = 0x08, PACKAGE_OP = 0x12, BUFFER_OP = 0x11, SCOPE_OP = 0x10, EXT_OP = 0x5b, DEVICE_OP = 0x82,
            STRING_PREFIX = 0x0d, DWORD_PREFIX = 0x0c, METHOD_OP = 0x14, NOTIFY_OP = 0x86, ROOT_CHAR = '\\', DUAL_NAME_PREFIX = 0x2e;

    private Aml() {
    }

    /** {@code Name (seg, value)}: {@code seg} a 4-character name segment. */
    static byte[] name(String seg, byte[] value) {
        return cat(new byte[] { NAME_OP }, nameSeg(seg), value);
    }

    /** An integer in the shortest encoding: ZeroOp, OneOp, Byte/Word/DWord/QWord prefix. */
    static byte[] integer(long v) {
        if (v == 0 || v == 1) {
            return new byte[] { (byte) v };
        }
        int bytes = v >= 0 && v <= 0xff ? 1 : v >= 0 && v <= 0xffff ? 2 : v >= 0 && v <= 0xffffffffL ? 4 : 8;
        byte[] b = new byte[1 + bytes];
        b[0] = (byte) (bytes == 1 ? 0x0a : bytes == 2 ? 0x0b : bytes == 4 ? 0x0c : 0x0e);
        for (int i = 0; i < bytes; i++) {
            b[1 + i] = (byte) (v >>> (8 * i));
        }
        return b;
    }

    /** A DWord integer whatever its value (DWordPrefix): a fixed length, for values patched or compared later. */
    static byte[] dword(long v) {
        if (v < 0 || v > 0xffffffffL) {
            throw new IllegalArgumentException("DWord " + v);
        }
        return new byte[] { DWORD_PREFIX, (byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24) };
    }

    /** A string constant (StringPrefix, ASCII, NUL). */
    static byte[] string(String s) {
        return cat(new byte[] { STRING_PREFIX }, s.getBytes(StandardCharsets.US_ASCII), new byte[] { 0 });
    }

    /** {@code Method (seg, args, NotSerialized) {terms}}. */
    static byte[] method(String seg, int args, byte[]... terms) {
        if (args < 0 || args > 7) {
            throw new IllegalArgumentException(args + " method arguments");
        }
        byte[] body = cat(nameSeg(seg), new byte[] { (byte) args }, cat(terms));
        return cat(new byte[] { METHOD_OP }, pkgLength(body.length), body);
    }

    /** {@code Notify (object, value)}: {@code object} a name string such as {@link #rootPath}'s. */
    static byte[] notify(byte[] object, int value) {
        return cat(new byte[] { (byte) NOTIFY_OP }, object, integer(value));
    }

    /** The absolute name string {@code \a.b} of two segments (RootChar, DualNamePrefix). */
    static byte[] rootPath(String first, String second) {
        return cat(new byte[] { ROOT_CHAR, DUAL_NAME_PREFIX }, nameSeg(first), nameSeg(second));
    }

    /** An EISA ID string such as "PNP0A03" as the DWord integer ACPI stores it (the {@code EisaId} macro). */
    static byte[] eisaId(String id) {
        if (id.length() != 7) {
            throw new IllegalArgumentException("EISA ID " + id);
        }
        int vendor = (id.charAt(0) - 0x40) << 10 | (id.charAt(1) - 0x40) << 5 | (id.charAt(2) - 0x40);
        int product = Integer.parseInt(id.substring(3), 16);
        return new byte[] { 0x0c, (byte) (vendor >>> 8), (byte) vendor, (byte) (product >>> 8), (byte) product };
    }

    /** {@code Package () {elements}} (at most 255 elements). */
    static byte[] pkg(byte[]... elements) {
        if (elements.length > 255) {
            throw new IllegalArgumentException(elements.length + " package elements");
        }
        byte[] body = cat(new byte[] { (byte) elements.length }, cat(elements));
        return cat(new byte[] { PACKAGE_OP }, pkgLength(body.length), body);
    }

    /** {@code Buffer () {data}}. */
    static byte[] buffer(byte[] data) {
        byte[] body = cat(integer(data.length), data);
        return cat(new byte[] { BUFFER_OP }, pkgLength(body.length), body);
    }

    /** {@code Scope (path) {terms}}: {@code path} a name string such as "\\_SB_". */
    static byte[] scope(String path, byte[]... terms) {
        byte[] body = cat(path.getBytes(StandardCharsets.US_ASCII), cat(terms));
        return cat(new byte[] { SCOPE_OP }, pkgLength(body.length), body);
    }

    /** {@code Device (seg) {terms}}. */
    static byte[] device(String seg, byte[]... terms) {
        byte[] body = cat(nameSeg(seg), cat(terms));
        return cat(new byte[] { EXT_OP, (byte) DEVICE_OP }, pkgLength(body.length), body);
    }

    /** The PkgLength bytes for {@code contentLength} bytes after them (the encoded length counts itself). */
    static byte[] pkgLength(int contentLength) {
        if (contentLength + 1 <= 0x3f) {
            return new byte[] { (byte) (contentLength + 1) };
        }
        int n = contentLength + 2 < 1 << 12 ? 2 : contentLength + 3 < 1 << 20 ? 3 : 4;
        int total = contentLength + n;
        if (n == 4 && total >= 1 << 28) {
            throw new IllegalArgumentException("AML object of " + contentLength + " bytes");
        }
        byte[] b = new byte[n];
        b[0] = (byte) ((n - 1) << 6 | total & 0x0f);
        for (int i = 1; i < n; i++) {
            b[i] = (byte) (total >>> (4 + 8 * (i - 1)));
        }
        return b;
    }

    private static byte[] nameSeg(String seg) {
        if (seg.length() != 4) {
            throw new IllegalArgumentException("AML name segment '" + seg + "'");
        }
        return seg.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
