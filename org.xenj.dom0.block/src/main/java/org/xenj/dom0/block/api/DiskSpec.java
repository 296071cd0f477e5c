package org.xenj.dom0.block.api;

import java.util.List;

/**
 * One parsed {@code disk = [...]} entry of xl.cfg (xl-disk-configuration(5)).
 *
 * @param target     the image file; empty only for an empty CD-ROM drive
 * @param format     image format (xl's default: raw)
 * @param vdev       the guest's name for the disk, e.g. {@code xvda}, {@code hdc}, {@code sda}
 * @param readOnly   {@code access=ro}; the default for CD-ROMs
 * @param cdrom      {@code devtype=cdrom}
 * @param notes      what was accepted but ignored or is deprecated, for the toolstack to show
 */
public record DiskSpec(String target, ImageFormat format, String vdev, boolean readOnly, boolean cdrom,
        List<String> notes) {

    public DiskSpec {
        notes = List.copyOf(notes);
    }

    /** Parses one spec as xl does; see {@link DiskSpecParser}. */
    public static DiskSpec parse(String spec) {
        return DiskSpecParser.parse(spec);
    }

    /** Xen's virtual device number of {@link #vdev()} (the xenstore device id), per xen-vbd-interface. */
    public int deviceNumber() {
        return VdevNumbers.of(vdev);
    }

    /**
     * The spec in xl's named form, target last (it may contain commas):
     * {@code format=qcow2, vdev=xvda, access=rw, target=/img/a.qcow2}. Parses back to an equal spec
     * (without the notes).
     */
    public String toSpecString() {
        return "format=" + format.xlName() + ", vdev=" + vdev + ", access=" + (readOnly ? "ro" : "rw")
                + (cdrom ? ", devtype=cdrom" : "") + ", target=" + target;
    }
}
