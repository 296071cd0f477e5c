package org.xenj.dom0.toolstack.internal.command;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.RemovableMedia;

/**
 * What {@code xen:cd-insert} and {@code xen:cd-eject} share, as xl's cd-insert builds it: the
 * medium as the disk spec {@code vdev=<vdev>, access=ro, devtype=cdrom, target=<target>} (an empty
 * target ejects), changed in every service that has the drive — qemu-dm's emulated drive first (it
 * opens the image now and may refuse it), then blkback's vbd, whose {@code params} follows.
 */
final class CdMedia {

    private CdMedia() {
    }

    /** @return the services that changed the medium, by name */
    static List<String> change(List<RemovableMedia> services, int domid, String domName, String vdev, String target) {
        DiskSpec medium = DiskSpec.parse("vdev=" + vdev + ", access=ro, devtype=cdrom, target=" + target);
        List<RemovableMedia> having = new ArrayList<>();
        for (RemovableMedia m : services == null ? List.<RemovableMedia>of() : services) {
            if (m.hasDrive(domid, medium.vdev())) {
                having.add(m);
            }
        }
        if (having.isEmpty()) {
            throw new IllegalArgumentException(domName + " has no CD-ROM drive " + vdev
                    + " (xl's cd-insert needs an existing drive, devtype=cdrom; it may be empty)");
        }
        having.sort(Comparator.comparing((RemovableMedia m) -> !m.name().equals("qemu-dm")));
        List<String> done = new ArrayList<>();
        for (RemovableMedia m : having) {
            m.changeMedium(domid, medium);
            done.add(m.name());
        }
        return done;
    }
}
