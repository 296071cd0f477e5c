package org.xenj.hvm.qemudm.boot;

final class BootText {
    private BootText() {
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }
}
