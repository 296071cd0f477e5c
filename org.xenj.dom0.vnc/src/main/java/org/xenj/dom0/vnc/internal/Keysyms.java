package org.xenj.dom0.vnc.internal;

import java.util.HashMap;
import java.util.Map;

/**
 * X keysyms (what RFB key events carry) to Linux input key codes on a US layout. A printable
 * keysym maps to the key that types it; {@link #needsShift} says whether that key needs Shift
 * (the server presses it when the client did not, so '!' from a client that sends characters arrives as Shift+1).
 */
final class Keysyms {

    private static final Map<Integer, Integer> CODES = new HashMap<>();
    /** Printable keysyms typed with Shift on a US keyboard. */
    private static final Map<Integer, Boolean> SHIFTED = new HashMap<>();

    static final int KEY_LEFTSHIFT = 42, KEY_RIGHTSHIFT = 54;

    private static void put(int keysym, int code) {
        CODES.put(keysym, code);
    }

    private static void row(String plain, String shifted, int firstCode) {
        for (int i = 0; i < plain.length(); i++) {
            put(plain.charAt(i), firstCode + i);
            if (shifted != null && i < shifted.length() && shifted.charAt(i) != ' ') {
                put(shifted.charAt(i), firstCode + i);
                SHIFTED.put((int) shifted.charAt(i), true);
            }
        }
    }

    static {
        row("1234567890-=", "!@#$%^&*()_+", 2);
        row("qwertyuiop[]", "QWERTYUIOP{}", 16);
        row("asdfghjkl;'`", "ASDFGHJKL:\"~", 30);
        put('\\', 43);
        put('|', 43);
        SHIFTED.put((int) '|', true);
        row("zxcvbnm,./", "ZXCVBNM<>?", 44);
        put(' ', 57);
        int[][] special = {
            { 0xff08, 14 }, { 0xff09, 15 }, { 0xfe20, 15 }, { 0xff0d, 28 }, { 0xff1b, 1 }, { 0xffff, 111 },
            { 0xff50, 102 }, { 0xff51, 105 }, { 0xff52, 103 }, { 0xff53, 106 }, { 0xff54, 108 }, { 0xff55, 104 },
            { 0xff56, 109 }, { 0xff57, 107 }, { 0xff63, 110 }, { 0xff61, 99 }, { 0xff13, 119 }, { 0xff67, 127 },
            { 0xffe1, 42 }, { 0xffe2, 54 }, { 0xffe3, 29 }, { 0xffe4, 97 }, { 0xffe5, 58 }, { 0xffe7, 56 },
            { 0xffe8, 100 }, { 0xffe9, 56 }, { 0xffea, 100 }, { 0xfe03, 100 }, { 0xffeb, 125 }, { 0xffec, 126 },
            { 0xff7f, 69 }, { 0xff14, 70 }, { 0xff8d, 96 }, { 0xffaa, 55 }, { 0xffab, 78 }, { 0xffad, 74 },
            { 0xffae, 83 }, { 0xffaf, 98 }, { 0xffb0, 82 }, { 0xffb1, 79 }, { 0xffb2, 80 }, { 0xffb3, 81 },
            { 0xffb4, 75 }, { 0xffb5, 76 }, { 0xffb6, 77 }, { 0xffb7, 71 }, { 0xffb8, 72 }, { 0xffb9, 73 },
            { 0xff95, 71 }, { 0xff96, 75 }, { 0xff97, 72 }, { 0xff98, 77 }, { 0xff99, 80 }, { 0xff9a, 73 },
            { 0xff9b, 81 }, { 0xff9c, 79 }, { 0xff9e, 82 }, { 0xff9f, 83 },
        };
        for (int[] s : special) {
            put(s[0], s[1]);
        }
        for (int f = 0; f < 10; f++) {
            put(0xffbe + f, 59 + f); // F1..F10
        }
        put(0xffc8, 87); // F11
        put(0xffc9, 88); // F12
    }

    private Keysyms() {
    }

    /** The Linux key code for {@code keysym}, or -1 when a US PC keyboard has no key for it. */
    static int code(int keysym) {
        return CODES.getOrDefault(keysym, -1);
    }

    static boolean needsShift(int keysym) {
        return SHIFTED.getOrDefault(keysym, false);
    }

    static boolean isShift(int keysym) {
        return keysym == 0xffe1 || keysym == 0xffe2;
    }
}
