package org.xenj.dom0.toolstack.internal.xlcfg;

/** A {@code key = value} as read, with where it came from (for error messages). */
public record XlSetting(String key, XlValue value, String source, int line) {

    /** {@code source:line} as error messages print it; line 0 means "no line" (a missing key). */
    public String where() {
        return line > 0 ? source + ":" + line : source;
    }
}
