package org.xenj.dom0.block.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * xl-disk-configuration(5): comma-separated {@code key=value} pairs, flags and positional
 * parameters; positionals fill the not-yet-given parameters in the order target, format, vdev,
 * access, an empty positional leaves its parameter at the default. {@code target=} swallows the
 * rest of the string, commas included. The deprecated forms ({@code phy:/x}, {@code tap:qcow2:/x}
 * prefixes, which stand for the format positional; a {@code :cdrom} vdev suffix) are accepted with
 * a note. Every parameter may be given once.
 */
final class DiskSpecParser {

    private static final String[] POSITIONAL = {"target", "format", "vdev", "access"};
    private static final List<String> IGNORED_FLAGS = List.of("direct-io-safe", "discard", "no-discard",
            "trusted", "untrusted");
    private static final List<String> BACKEND_TYPES = List.of("phy", "qdisk", "tap", "standalone");

    private String target;
    private ImageFormat format;
    private String vdev;
    private Boolean readOnly;
    private boolean cdrom;
    private final boolean[] given = new boolean[POSITIONAL.length];
    private boolean devtypeGiven;
    private boolean backendTypeGiven;
    private final List<String> notes = new ArrayList<>();

    private DiskSpecParser() {
    }

    static DiskSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new DiskSpecException(null, "empty disk spec");
        }
        if (spec.indexOf('\0') >= 0) {
            throw new DiskSpecException(null, "disk spec contains a NUL character");
        }
        return new DiskSpecParser().run(spec);
    }

    private DiskSpec run(String spec) {
        int pos = 0;
        while (pos <= spec.length()) {
            String rest = spec.substring(pos).stripLeading();
            if (rest.startsWith("target=")) {
                named("target", rest.substring("target=".length()));
                break;
            }
            int comma = spec.indexOf(',', pos);
            int end = comma < 0 ? spec.length() : comma;
            String token = spec.substring(pos, end).strip();
            boolean last = comma < 0;
            if (!(last && token.isEmpty() && pos > 0)) {
                token(token);
            }
            if (last) {
                break;
            }
            pos = comma + 1;
        }
        return finish();
    }

    private void token(String token) {
        int eq = token.indexOf('=');
        if (eq >= 0) {
            named(token.substring(0, eq).strip().toLowerCase(Locale.ROOT), token.substring(eq + 1).strip());
        } else if (token.equals("cdrom")) {
            devtype("cdrom");
        } else if (IGNORED_FLAGS.contains(token)) {
            notes.add("flag '" + token + "' ignored: the block layer decides caching and discard itself");
        } else {
            positional(token);
        }
    }

    private void positional(String value) {
        for (int i = 0; i < POSITIONAL.length; i++) {
            if (!given[i]) {
                if (i == 0 && deprecatedPrefix(value)) {
                    return;
                }
                set(i, value);
                return;
            }
        }
        throw new DiskSpecException(null, "too many positional parameters at '" + value
                + "' (target, format, vdev, access)");
    }

    private void named(String key, String value) {
        for (int i = 0; i < POSITIONAL.length; i++) {
            if (POSITIONAL[i].equals(key)) {
                if (given[i]) {
                    throw new DiskSpecException(key, "specified more than once");
                }
                set(i, value);
                return;
            }
        }
        switch (key) {
            case "devtype":
                devtype(value);
                return;
            case "backendtype":
                if (backendTypeGiven) {
                    throw new DiskSpecException(key, "specified more than once");
                }
                backendTypeGiven = true;
                if (!BACKEND_TYPES.contains(value)) {
                    throw new DiskSpecException(key, "'" + value + "' is not phy, qdisk, tap or standalone");
                }
                notes.add("backendtype=" + value + " ignored: xenj serves every disk from its own block layer");
                return;
            case "script":
            case "backend":
                notes.add(key + "=" + value + " ignored: disks are files served by Domain 0");
                return;
            default:
                throw new DiskSpecException(key.isEmpty() ? "=" + value : key, "unknown parameter");
        }
    }

    private void set(int i, String value) {
        given[i] = true;
        if (value.isEmpty()) {
            return; // an empty parameter takes its default, as in "/x.iso,,hdc"
        }
        switch (i) {
            case 0: target = value; break;
            case 1: format = format(value); break;
            case 2: vdev(value); break;
            default: readOnly = access(value); break;
        }
    }

    /** {@code phy:}, {@code file:}, {@code aio:}, {@code raw:}, {@code qcow2:}, {@code tap:qcow2:}, ... */
    private boolean deprecatedPrefix(String value) {
        String v = value;
        String used = "";
        for (String tap : List.of("tap:", "tap2:", "tapdisk:")) {
            if (v.startsWith(tap)) {
                used = tap;
                v = v.substring(tap.length());
                break;
            }
        }
        int colon = v.indexOf(':');
        if (colon <= 0) {
            return false;
        }
        String prefix = v.substring(0, colon);
        ImageFormat f;
        switch (prefix) {
            case "phy": case "file": case "aio": case "raw": f = ImageFormat.RAW; break;
            case "qcow2": f = ImageFormat.QCOW2; break;
            case "qcow": case "vhd": case "qed": f = format(prefix); break;
            default: return false;
        }
        given[0] = true;
        given[1] = true;
        target = v.substring(colon + 1);
        format = f;
        notes.add("deprecated prefix '" + used + prefix + ":' read as format=" + f.xlName());
        return true;
    }

    private static ImageFormat format(String value) {
        switch (value.toLowerCase(Locale.ROOT)) {
            case "raw": return ImageFormat.RAW;
            case "qcow2": return ImageFormat.QCOW2;
            case "qcow": case "vhd": case "qed": case "empty":
                throw new DiskSpecException("format", "'" + value + "' is an xl format xenj does not serve "
                        + "(raw, qcow2)");
            default:
                throw new DiskSpecException("format", "'" + value + "' is not a disk format (raw, qcow2)");
        }
    }

    private void vdev(String value) {
        String v = value;
        if (v.endsWith(":cdrom")) {
            v = v.substring(0, v.length() - ":cdrom".length());
            devtype("cdrom");
            notes.add("deprecated vdev suffix ':cdrom' read as devtype=cdrom");
        } else if (v.endsWith(":disk")) {
            v = v.substring(0, v.length() - ":disk".length());
            notes.add("deprecated vdev suffix ':disk' ignored");
        }
        VdevNumbers.of(v);
        vdev = v;
    }

    private static boolean access(String value) {
        switch (value.toLowerCase(Locale.ROOT)) {
            case "ro": case "r": return true;
            case "rw": case "w": return false;
            default: throw new DiskSpecException("access", "'" + value + "' is not ro, r, rw or w");
        }
    }

    private void devtype(String value) {
        if (devtypeGiven) {
            throw new DiskSpecException("devtype", "specified more than once");
        }
        devtypeGiven = true;
        if (!value.equals("cdrom")) {
            throw new DiskSpecException("devtype", "'" + value + "' is not a device type (cdrom)");
        }
        cdrom = true;
    }

    private DiskSpec finish() {
        if (vdev == null) {
            throw new DiskSpecException("vdev", "missing: every disk needs a virtual device name (e.g. xvda, hda)");
        }
        boolean ro = readOnly != null ? readOnly : cdrom;
        if (cdrom && !ro) {
            throw new DiskSpecException("access", "a CD-ROM is read-only (access=ro)");
        }
        String t = target == null ? "" : target;
        if (t.isEmpty() && !cdrom) {
            throw new DiskSpecException("target", "missing: a disk needs an image file (only a CD-ROM drive may be empty)");
        }
        return new DiskSpec(t, format == null ? ImageFormat.RAW : format, vdev, ro, cdrom, notes);
    }
}
