package org.xenj.hvm.qemudm.internal.ide;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.DiskSpecException;

/**
 * Which of a domain's {@code disk = [...]} entries become IDE drives, and where: as Xen's device
 * model does for HVM guests, the first four disks by name — {@code hda}..{@code hdd}, and likewise
 * {@code sda}..{@code sdd} and {@code xvda}..{@code xvdd} — are primary master, primary slave,
 * secondary master, secondary slave. Other entries (partitions, later letters) are PV-only.
 */
public final class IdeDisks {

    private static final Pattern WHOLE_DISK = Pattern.compile("(?:hd|sd|xvd)([a-d])");

    private IdeDisks() {
    }

    /** The IDE position (0..3) of a vdev, or -1 when it is not one of the four IDE disks. */
    public static int position(String vdev) {
        Matcher m = WHOLE_DISK.matcher(vdev);
        return m.matches() ? m.group(1).charAt(0) - 'a' : -1;
    }

    /**
     * Opens the images of the IDE disks among {@code specs} (a CD-ROM without target is an empty
     * drive). All or nothing: on failure the images already opened are closed again.
     *
     * @throws IllegalArgumentException a spec is malformed, two disks want one position, or an
     *                                  image cannot be opened (the message names the disk)
     */
    /**
     * The CD-ROM entries of {@code specs}: what the IDE controller still serves after the guest's
     * disk unplug (entries that do not parse are left to {@link #open} to report).
     */
    public static List<String> cdromsOnly(List<String> specs) {
        List<String> cds = new ArrayList<>();
        for (String spec : specs) {
            try {
                if (DiskSpec.parse(spec).cdrom()) {
                    cds.add(spec);
                }
            } catch (RuntimeException e) {
                // not a CD-ROM we could serve
            }
        }
        return cds;
    }

    public static List<IdeDrive> open(List<String> specs, BlockImages images, Consumer<String> log) {
        List<IdeDrive> drives = new ArrayList<>();
        boolean[] taken = new boolean[4];
        try {
            for (String spec : specs) {
                DiskSpec d;
                try {
                    d = DiskSpec.parse(spec);
                } catch (DiskSpecException e) {
                    throw new IllegalArgumentException("disk '" + spec + "': " + e.getMessage(), e);
                }
                int pos = position(d.vdev());
                if (pos < 0) {
                    log.accept("ide: " + d.vdev() + " is not an IDE position (hda-hdd, sda-sdd, xvda-xvdd); PV only");
                    continue;
                }
                if (taken[pos]) {
                    throw new IllegalArgumentException("disk " + d.vdev() + ": IDE position " + pos + " is taken");
                }
                taken[pos] = true;
                IdeDrive.Kind kind = d.cdrom() ? IdeDrive.Kind.CDROM : IdeDrive.Kind.DISK;
                BlockDevice image = null;
                if (!d.target().isEmpty()) {
                    try {
                        image = images.open(Path.of(d.target()), d.format(), d.readOnly() || d.cdrom());
                    } catch (IOException e) {
                        throw new IllegalArgumentException("disk " + d.vdev() + " (" + d.target() + "): " + e.getMessage(), e);
                    }
                } else if (kind == IdeDrive.Kind.DISK) {
                    throw new IllegalArgumentException("disk " + d.vdev() + " has no target");
                }
                drives.add(new IdeDrive(kind, pos, d.vdev(), image, d.target(), d.format()));
                log.accept("ide: " + d.vdev() + " " + kind.name().toLowerCase() + " at " + (pos < 2 ? "primary" : "secondary")
                        + (pos % 2 == 0 ? " master" : " slave") + ": " + (image == null ? "no medium"
                                : d.target() + " (" + d.format().xlName() + ", " + image.size() / 512 + " sectors"
                                        + (image.readOnly() ? ", read-only" : "") + ")"));
            }
            return drives;
        } catch (RuntimeException e) {
            for (IdeDrive d : drives) {
                try {
                    d.close();
                } catch (IOException ignored) {
                    // the open failed first; that is the error to report
                }
            }
            throw e;
        }
    }
}
