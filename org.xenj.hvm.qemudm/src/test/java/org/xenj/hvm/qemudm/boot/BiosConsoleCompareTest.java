package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * How BiosDiskBootTest compares COM1 with QEMU's: on the two outputs a CI run printed (QEMU's and xenj's) when the
 * disk's syslinux still wrote COM1 too, and on the mirror alone as it is now.
 */
class BiosConsoleCompareTest {

    private static final String BANNER = "SeaBIOS (version 1.16.2-debian-1.16.2-1)\nBooting from Hard Disk...\n\n";
    private static final String QEMU = BANNER + "SYSLINUX 6.04 EDD 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al\n\n"
            + "SYSLINUX 6.04 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al\n"
            + "Loading vmlinuz...Loading vmlinuz...  ook\nk\nLoading initrd.gz..Loading initrd.gz....ook\nk\nProbing EDD";
    private static final String XENJ = BANNER + "SYSLINUX 6.04 EDD 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al\n\n"
            + "SYSLINUX 6.04 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al\n"
            + "Loading\u001b[05;07H\u001b[05;08H vmlinuz...Loading vmlinuz...  ook\nk\n"
            + "Loading initrd.gz..Loading initrd.gz....ok\u001b[06;22Hok\n\nProbing EDD";

    @Test
    void theInterleavingOfTheTwoWritersIsNotCompared() {
        assertEquals(BiosDiskBootTest.seaBiosPart(QEMU), BiosDiskBootTest.seaBiosPart(XENJ));
        assertEquals(BANNER, BiosDiskBootTest.seaBiosPart(QEMU));
        assertEquals(List.of("SYSLINUX 6.04 EDD 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al",
                "SYSLINUX 6.04 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al", "Loading vmlinuz", "Loading initrd.gz"),
                BiosDiskBootTest.loaderMessages(XENJ));
        assertEquals(BiosDiskBootTest.loaderMessages(QEMU), BiosDiskBootTest.loaderMessages(XENJ));
    }

    /** The disk's COM1 since its syslinux has no SERIAL line: SeaBIOS's mirror alone (QEMU's, 2026-12-07). */
    private static final String MIRROR_ONLY = BANNER + "SYSLINUX 6.04 EDD 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al\r\n"
            + "Loading vmlinuz...\u001b[05;19H ok\r\nLoading\u001b[06;08H initrd.gz...ok\r\nProbing EDD";

    @Test
    void theMirrorAloneGivesTheMessagesWhereverItsEscapesFall() {
        assertEquals(BANNER, BiosDiskBootTest.seaBiosPart(MIRROR_ONLY));
        assertEquals(List.of("SYSLINUX 6.04 EDD 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al", "Loading vmlinuz",
                "Loading initrd.gz"), BiosDiskBootTest.loaderMessages(MIRROR_ONLY));
        assertEquals(BiosDiskBootTest.loaderMessages(MIRROR_ONLY),
                BiosDiskBootTest.loaderMessages(MIRROR_ONLY.replace("\u001b[05;19H", "").replace("\u001b[06;08H", "")));
    }

    /** ci38's disk boot on xenj: the mirror's flush returned the cursor inside "Loading" before positioning it. */
    @Test
    void aCarriageReturnInsideAWordIsTheMirrorsToo() {
        String ci38 = MIRROR_ONLY.replace("Loading vmlinuz...\u001b[05;19H ok", "L\r\u001b[05;02Hoading vmlinuz... ok");
        assertEquals(BiosDiskBootTest.loaderMessages(MIRROR_ONLY), BiosDiskBootTest.loaderMessages(ci38));
    }

    @Test
    void aMissingOrDifferentMessageStillFails() {
        assertNotEquals(BiosDiskBootTest.loaderMessages(QEMU),
                BiosDiskBootTest.loaderMessages(XENJ.replace("Loading initrd.gz", "Loading initrd.img")));
        assertNotEquals(BiosDiskBootTest.seaBiosPart(QEMU),
                BiosDiskBootTest.seaBiosPart(XENJ.replace("Hard Disk", "Floppy")));
    }
}
