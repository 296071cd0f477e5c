package org.xenj.dom0.block.api;

import java.util.Locale;

/** Image formats the block layer serves. */
public enum ImageFormat {
    /** The disk's bytes, one to one; sparse files stay sparse. */
    RAW,
    /** QEMU's copy-on-write format, versions 2 and 3. */
    QCOW2;

    /** The name xl and qemu-img use ({@code raw}, {@code qcow2}). */
    public String xlName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
