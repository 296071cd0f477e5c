package org.xenj.hvm.qemudm.internal.kbd;

/**
 * PC keyboard scan codes. Linux input key codes 1-88 are the PC's set-1 codes; the navigation
 * and right-hand modifier keys are set-1 codes behind an 0xE0 prefix. Set 2 (what the keyboard
 * itself sends) follows from set 1 through the 8042's translation, here as its inverse: set-1
 * code {@code c} (0-127) is set-2 code {@code SET1_TO_SET2[c]}.
 */
public final class ScanCodes {

    private ScanCodes() {
    }

    static final int[] SET1_TO_SET2 = {
        0, 118, 22, 30, 38, 37, 46, 54, 61, 62, 70, 69, 78, 85, 102, 13,
        21, 29, 36, 45, 44, 53, 60, 67, 68, 77, 84, 91, 90, 20, 28, 27,
        35, 43, 52, 51, 59, 66, 75, 76, 82, 14, 18, 93, 26, 34, 33, 42,
        50, 49, 58, 65, 73, 74, 89, 124, 17, 41, 88, 5, 6, 4, 12, 3,
        11, 2, 10, 1, 9, 119, 126, 108, 117, 125, 123, 107, 115, 116, 121, 105,
        114, 122, 112, 113, 127, 96, 97, 120, 7, 15, 23, 31, 39, 47, 55, 63,
        71, 79, 86, 94, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 87, 111,
        19, 25, 57, 81, 83, 92, 95, 98, 99, 100, 101, 103, 104, 106, 109, 110 };

    /** Set-2 code (0-127) to set-1 code, as the 8042 translates (0xFF where nothing maps). */
    static final int[] SET2_TO_SET1 = new int[256];

    static {
        java.util.Arrays.fill(SET2_TO_SET1, 0xff);
        for (int c = 0; c < 128; c++) {
            SET2_TO_SET1[SET1_TO_SET2[c]] = c;
        }
        SET2_TO_SET1[0] = 0;
    }

    /** Linux key codes above 88 that the PC sends as 0xE0 + a set-1 code. */
    private static final int[][] EXTENDED = {
        { 96, 0x1c }, // KPENTER
        { 97, 0x1d }, // RIGHTCTRL
        { 98, 0x35 }, // KPSLASH
        { 99, 0x37 }, // SYSRQ / PrintScreen
        { 100, 0x38 }, // RIGHTALT (AltGr)
        { 102, 0x47 }, { 103, 0x48 }, { 104, 0x49 }, // HOME UP PAGEUP
        { 105, 0x4b }, { 106, 0x4d }, // LEFT RIGHT
        { 107, 0x4f }, { 108, 0x50 }, { 109, 0x51 }, // END DOWN PAGEDOWN
        { 110, 0x52 }, { 111, 0x53 }, // INSERT DELETE
        { 125, 0x5b }, { 126, 0x5c }, { 127, 0x5d }, // LEFTMETA RIGHTMETA COMPOSE
    };

    /**
     * The set-2 bytes of a key press or release: up to 3 written to {@code out}; returns how many
     * (0 for a key code a PC keyboard does not have).
     */
    public static int set2(int linuxKeyCode, boolean down, int[] out) {
        int set1 = -1;
        boolean e0 = false;
        if (linuxKeyCode >= 1 && linuxKeyCode <= 88 && linuxKeyCode != 84 && linuxKeyCode != 85) {
            set1 = linuxKeyCode;
        } else {
            for (int[] e : EXTENDED) {
                if (e[0] == linuxKeyCode) {
                    set1 = e[1];
                    e0 = true;
                }
            }
        }
        if (set1 < 0) {
            return 0;
        }
        int n = 0;
        if (e0) {
            out[n++] = 0xe0;
        }
        if (!down) {
            out[n++] = 0xf0;
        }
        out[n++] = SET1_TO_SET2[set1];
        return n;
    }
}
