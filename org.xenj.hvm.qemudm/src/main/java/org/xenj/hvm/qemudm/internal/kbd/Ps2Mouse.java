package org.xenj.hvm.qemudm.internal.kbd;

/**
 * A PS/2 mouse behind the 8042's AUX port (standard 3-byte protocol, ID 0): the commands Linux's
 * psmouse sends while probing and configuring (reset, identify, status, sample rate, resolution,
 * scaling, enable/disable reporting, stream/remote mode, read data), and movement reports made from
 * the console's absolute pointer as relative steps of at most ±255. Its bytes go to the controller's
 * output through {@code out}. Not thread-safe: the 8042 calls it under its own lock.
 */
final class Ps2Mouse {

    static final int ACK = 0xfa;

    /** Reporting enabled, stream mode, scaling 2:1, the three settings, a command waiting for its parameter, buttons. */
    boolean reporting;
    boolean remote;
    boolean scaling21;
    int sampleRate;
    int resolution;
    int pendingCommand;
    int buttons;
    /** Movement not yet reported. */
    int dx, dy;

    Ps2Mouse() {
        reset();
    }

    void reset() {
        reporting = false;
        remote = false;
        scaling21 = false;
        sampleRate = 100;
        resolution = 2;
        pendingCommand = 0;
        buttons = 0;
        dx = 0;
        dy = 0;
    }

    /** A byte the guest sent to the mouse (controller command 0xD4 then the byte). */
    void command(int value, java.util.function.IntConsumer out) {
        int param = pendingCommand;
        if (param != 0) {
            pendingCommand = 0;
            if (param == 0xf3) {
                sampleRate = value;
            } else if (param == 0xe8) {
                resolution = value & 3;
            }
            out.accept(ACK);
            return;
        }
        switch (value) {
            case 0xff -> { // reset: ACK, self-test passed, ID
                reset();
                out.accept(ACK);
                out.accept(0xaa);
                out.accept(0x00);
            }
            case 0xf6 -> { // set defaults
                reset();
                out.accept(ACK);
            }
            case 0xf5 -> {
                reporting = false;
                out.accept(ACK);
            }
            case 0xf4 -> {
                reporting = true;
                out.accept(ACK);
            }
            case 0xf3, 0xe8 -> {
                pendingCommand = value;
                out.accept(ACK);
            }
            case 0xf2 -> { // identify: a plain PS/2 mouse
                out.accept(ACK);
                out.accept(0x00);
            }
            case 0xf0 -> {
                remote = true;
                out.accept(ACK);
            }
            case 0xea -> {
                remote = false;
                out.accept(ACK);
            }
            case 0xe6, 0xe7 -> {
                scaling21 = value == 0xe7;
                out.accept(ACK);
            }
            case 0xe9 -> { // status request
                out.accept(ACK);
                out.accept((remote ? 0x40 : 0) | (reporting ? 0x20 : 0) | (scaling21 ? 0x10 : 0) | (buttons & 1) << 2
                        | (buttons & 2) >> 1 | (buttons & 4) >> 1);
                out.accept(resolution);
                out.accept(sampleRate);
            }
            case 0xeb -> { // read data (remote mode)
                out.accept(ACK);
                packet(out);
            }
            default -> out.accept(0xfe); // resend: not a command we know
        }
    }

    /**
     * Host movement and buttons (RFB order: bit 0 left, 1 middle, 2 right). Returns whether a report
     * should be sent (stream mode with reporting on).
     */
    boolean move(int deltaX, int deltaY, int rfbButtons) {
        if (!reporting || remote) {
            return false; // nothing is reported: motion while the driver is not listening is forgotten
        }
        dx = clampAccumulated(dx + deltaX);
        dy = clampAccumulated(dy + deltaY);
        // PS/2 byte 0: bit 0 left, bit 1 right, bit 2 middle
        buttons = (rfbButtons & 1) | (rfbButtons & 4) >> 1 | (rfbButtons & 2) << 1;
        return reporting && !remote;
    }

    private static int clampAccumulated(int v) {
        return Math.max(-4096, Math.min(4096, v));
    }

    boolean hasMovement() {
        return dx != 0 || dy != 0;
    }

    /** One report of what is pending (screen y grows downwards, PS/2 y upwards), at most ±255 per axis. */
    void packet(java.util.function.IntConsumer out) {
        int x = Math.max(-255, Math.min(255, dx));
        int y = Math.max(-255, Math.min(255, dy));
        dx -= x;
        dy -= y;
        int py = -y;
        out.accept(0x08 | buttons | (x < 0 ? 0x10 : 0) | (py < 0 ? 0x20 : 0));
        out.accept(x & 0xff);
        out.accept(py & 0xff);
    }

    int[] save() {
        return new int[] { reporting ? 1 : 0, remote ? 1 : 0, scaling21 ? 1 : 0, sampleRate, resolution, pendingCommand, buttons,
                dx, dy };
    }

    void restore(int[] s) {
        reporting = s[0] != 0;
        remote = s[1] != 0;
        scaling21 = s[2] != 0;
        sampleRate = s[3] & 0xff;
        resolution = s[4] & 3;
        pendingCommand = s[5] == 0xf3 || s[5] == 0xe8 ? s[5] : 0;
        buttons = s[6] & 7;
        dx = clampAccumulated(s[7]);
        dy = clampAccumulated(s[8]);
    }

    static final int STATE_INTS = 9;
}
