package org.xenj.dom0.block.api;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Virtual device names ({@code xvda}, {@code hdc}, {@code sdb1}, {@code d0p1}) to Xen's device
 * numbers, the layout of xen-vbd-interface: 202/8/3/22 majors for the classic forms, the extended
 * {@code 1 << 28 | disk << 8 | partition} form for disks or partitions beyond them.
 */
final class VdevNumbers {

    private static final Pattern LETTERS = Pattern.compile("(xvd|hd|sd)([a-z]{1,4})(0|[1-9][0-9]{0,2})?");
    private static final Pattern NUMBERED = Pattern.compile("d(0|[1-9][0-9]{0,6})(?:p(0|[1-9][0-9]{0,2}))?");
    private static final int EXT_MAX_DISK = (1 << 20) - 1;
    private static final int EXT_MAX_PARTITION = 255;

    private VdevNumbers() {
    }

    static int of(String vdev) {
        Matcher m = LETTERS.matcher(vdev);
        if (m.matches()) {
            int disk = letters(m.group(2));
            int partition = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
            switch (m.group(1)) {
                case "hd": return ide(vdev, disk, partition);
                case "sd": return classicOrExtended(vdev, 8, disk, partition);
                default: return classicOrExtended(vdev, 202, disk, partition);
            }
        }
        m = NUMBERED.matcher(vdev);
        if (m.matches()) {
            int disk = Integer.parseInt(m.group(1));
            int partition = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
            return classicOrExtended(vdev, 202, disk, partition);
        }
        throw new DiskSpecException("vdev", "'" + vdev + "' is not a virtual device name "
                + "(xvd<letters>[n], hd[a-d][n], sd<letters>[n] or d<disk>[p<partition>])");
    }

    /** Bijective base 26: a=0 … z=25, aa=26 … zz=701, aaa=702. */
    private static int letters(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            n = n * 26 + (s.charAt(i) - 'a' + 1);
        }
        return n - 1;
    }

    /** IDE has four positions (primary/secondary master/slave) with up to 63 partitions each. */
    private static int ide(String vdev, int disk, int partition) {
        if (disk > 3) {
            throw new DiskSpecException("vdev", "'" + vdev + "': IDE has four disks, hda to hdd");
        }
        if (partition > 63) {
            throw new DiskSpecException("vdev", "'" + vdev + "': IDE partitions go up to 63");
        }
        return disk < 2 ? (3 << 8) | (disk << 6) | partition : (22 << 8) | ((disk - 2) << 6) | partition;
    }

    private static int classicOrExtended(String vdev, int major, int disk, int partition) {
        if (disk < 16 && partition < 16) {
            return (major << 8) | (disk << 4) | partition;
        }
        if (disk > EXT_MAX_DISK || partition > EXT_MAX_PARTITION) {
            throw new DiskSpecException("vdev", "'" + vdev + "': disk or partition number out of range (disks up to "
                    + EXT_MAX_DISK + ", partitions up to " + EXT_MAX_PARTITION + ")");
        }
        return (1 << 28) | (disk << 8) | partition;
    }
}
