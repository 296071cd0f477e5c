package org.xenj.dom0.toolstack.internal.command;

import java.util.Collection;
import java.util.Map;

/** A minimal JSON writer for {@code xen:list -l} and {@code xen:create -n}, as xl prints JSON there. */
final class Json {

    private final StringBuilder sb = new StringBuilder();
    private int depth;

    static String write(Object value) {
        Json j = new Json();
        j.value(value);
        return j.sb.toString();
    }

    private void value(Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Number || v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof Map<?, ?> m) {
            object(m);
        } else if (v instanceof Collection<?> c) {
            array(c);
        } else {
            string(v.toString());
        }
    }

    private void object(Map<?, ?> m) {
        if (m.isEmpty()) {
            sb.append("{}");
            return;
        }
        sb.append('{');
        depth++;
        boolean first = true;
        for (Map.Entry<?, ?> e : m.entrySet()) {
            sb.append(first ? "\n" : ",\n");
            first = false;
            indent();
            string(String.valueOf(e.getKey()));
            sb.append(": ");
            value(e.getValue());
        }
        depth--;
        sb.append('\n');
        indent();
        sb.append('}');
    }

    private void array(Collection<?> c) {
        if (c.isEmpty()) {
            sb.append("[]");
            return;
        }
        sb.append('[');
        depth++;
        boolean first = true;
        for (Object o : c) {
            sb.append(first ? "\n" : ",\n");
            first = false;
            indent();
            value(o);
        }
        depth--;
        sb.append('\n');
        indent();
        sb.append(']');
    }

    private void indent() {
        sb.append("    ".repeat(depth));
    }

    private void string(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}
