package org.xenj.dom0.toolstack.internal.xlcfg;

import java.util.List;
import java.util.stream.Collectors;

/**
 * One value of an xl.cfg setting: a string, a number (kept as written, checked by the key that
 * reads it) or a list of such scalars.
 */
public record XlValue(Kind kind, String text, List<String> items) {

    public enum Kind { STRING, NUMBER, LIST }

    public static XlValue string(String s) {
        return new XlValue(Kind.STRING, s, List.of());
    }

    public static XlValue number(String digits) {
        return new XlValue(Kind.NUMBER, digits, List.of());
    }

    public static XlValue list(List<String> items) {
        return new XlValue(Kind.LIST, null, List.copyOf(items));
    }

    public boolean isList() {
        return kind == Kind.LIST;
    }

    /** A scalar as one item, a list as its items: for keys that take either (disk, vif, cpus). */
    public List<String> asItems() {
        return isList() ? items : List.of(text);
    }

    /** The {@code +=} of xl: list + list or list + scalar appends; string + string concatenates. */
    XlValue append(XlValue more) {
        if (isList()) {
            List<String> joined = new java.util.ArrayList<>(items);
            joined.addAll(more.asItems());
            return list(joined);
        }
        if (more.isList()) {
            List<String> joined = new java.util.ArrayList<>(asItems());
            joined.addAll(more.items);
            return list(joined);
        }
        return string(text + more.text);
    }

    /**
     * The form kept in {@code DomainConfig.raw()}: scalars unquoted, lists in xl syntax with
     * quoted items (commas inside disk specs stay unambiguous).
     */
    public String rawForm() {
        if (!isList()) {
            return text;
        }
        return items.stream().map(XlValue::quote).collect(Collectors.joining(", ", "[", "]"));
    }

    static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
