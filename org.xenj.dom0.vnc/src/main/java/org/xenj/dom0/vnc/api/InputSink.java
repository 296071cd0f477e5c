package org.xenj.dom0.vnc.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Where a console's keyboard and pointer go: the emulated PS/2 keyboard and mouse, or the PV
 * keyboard. Calls come on a client's thread and must not block.
 */
@ConsumerType
public interface InputSink {

    /**
     * A key pressed or released, as a Linux input key code ({@code KEY_A} = 30, ...: what the PV
     * keyboard protocol carries and what maps one to one onto PC scan codes). A key held down repeats
     * by repeated presses without releases, as a PC keyboard's typematic repeat does.
     */
    void key(int linuxKeyCode, boolean down);

    /**
     * The pointer at {@code (x, y)} on a screen of {@code width × height} with buttons
     * {@code buttons} (bit 0 left, 1 middle, 2 right, 3/4 wheel up/down, as RFB sends them).
     */
    void pointer(int x, int y, int buttons, int width, int height);
}
