package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The OCR patterns of {@link BiosScreenChecks} on what tesseract has read from the firmware screen
 * (they allow its known misreadings) and on screens that must not pass: the check can fail.
 */
class BiosScreenPatternsTest {

    /** tesseract's reading of vncsnapshot's picture in the run of 2026-12-07. */
    static final String READ = "SeabIOS (version 1.16.2@-debian-1.16.2-1)\nBooting from DUD/CD...\n\n"
            + "ISOLINUX 6.04 20200616 ETCD Copyright (C) 1994-2015 H. Peter fAnvin et al\n";

    @Test
    void whatTesseractReadsPasses() {
        assertTrue(BiosScreenChecks.SEABIOS.matcher(READ).find());
        assertTrue(BiosScreenChecks.BOOTING.matcher(READ).find());
        assertTrue(READ.contains("ISOLINUX 6.04"));
        assertTrue(BiosScreenChecks.SEABIOS.matcher("SeaBIOS (version 1.16.2-debian-1.16.2-1)").find());
    }

    @Test
    void otherScreensDoNot() {
        for (String other : new String[] {"", "Booting from Hard Disk...", "SeaBIOS", "iPXE (version 1.21)",
            "Probing EDD (edd=off to disable)... ok", "No bootable device."}) {
            assertFalse(BiosScreenChecks.SEABIOS.matcher(other).find(), other);
            assertFalse(BiosScreenChecks.BOOTING.matcher(other).find(), other);
        }
    }
}
