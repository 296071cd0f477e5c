package org.xenj.dom0.toolstack.internal.xlcfg;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads xl.cfg text: {@code key = value} or {@code key += value} statements ended by a newline or
 * {@code ;}; values are "double" or 'single' quoted strings, numbers, or {@code [ ... ]} lists
 * that may span lines; {@code #} starts a comment. A later setting of a key replaces an earlier
 * one, as in xl. Pure: no I/O, no state kept between calls.
 */
public final class XlConfigReader {

    private final String source;
    private final String text;
    private int pos;
    private int line = 1;
    private String currentKey;

    private XlConfigReader(String source, String text) {
        this.source = source;
        this.text = text;
    }

    /** Parses a whole file's text; settings in the order first seen, each holding its last value. */
    public static Map<String, XlSetting> read(String source, String text) {
        Map<String, XlSetting> settings = new LinkedHashMap<>();
        new XlConfigReader(source, text).readInto(settings);
        return settings;
    }

    /**
     * Parses one command-line override {@code key=value} (or {@code key+=value}) as {@code xl create}
     * takes them. A value that is not valid xl syntax (e.g. {@code name=web1}) is taken as a plain
     * string, so users need not quote through two shells.
     */
    public static void readOverride(String source, String arg, Map<String, XlSetting> into) {
        int eq = arg.indexOf('=');
        if (eq <= 0) {
            throw new XlConfigException(source, 0, null, "expected key=value, got \"" + arg + "\"");
        }
        boolean append = arg.charAt(eq - 1) == '+';
        String key = arg.substring(0, append ? eq - 1 : eq).trim();
        if (!isIdentifier(key)) {
            throw new XlConfigException(source, 0, null, "'" + key + "' is not a valid key name");
        }
        String valueText = arg.substring(eq + 1).trim();
        XlValue value;
        try {
            XlConfigReader r = new XlConfigReader(source, valueText);
            r.currentKey = key;
            value = r.value();
            r.skipBlanks();
            if (!r.atEnd()) {
                value = XlValue.string(valueText);
            }
        } catch (XlConfigException notXl) {
            value = XlValue.string(valueText);
        }
        put(into, new XlSetting(key, value, source, 0), append);
    }

    private void readInto(Map<String, XlSetting> settings) {
        while (true) {
            currentKey = null;
            skipBlanksAndNewlines(true);
            if (atEnd()) {
                return;
            }
            int keyLine = line;
            String key = identifier();
            currentKey = key;
            skipBlanks();
            boolean append = false;
            if (peek() == '+') {
                pos++;
                append = true;
            }
            if (peek() != '=') {
                throw error("expected '=' after the key");
            }
            pos++;
            skipBlanks();
            XlValue value = value();
            skipBlanks();
            if (!atEnd() && peek() != '\n' && peek() != ';') {
                throw error("unexpected " + describe(peek()) + " after the value (one setting per line, or separate with ';')");
            }
            if (!atEnd()) {
                pos++;
                if (text.charAt(pos - 1) == '\n') {
                    line++;
                }
            }
            put(settings, new XlSetting(key, value, source, keyLine), append);
        }
    }

    private static void put(Map<String, XlSetting> settings, XlSetting s, boolean append) {
        XlSetting previous = settings.get(s.key());
        if (append && previous != null) {
            s = new XlSetting(s.key(), previous.value().append(s.value()), s.source(), s.line());
        }
        settings.remove(s.key());
        settings.put(s.key(), s);
    }

    private XlValue value() {
        if (atEnd() || peek() == '\n' || peek() == ';') {
            throw error("missing value after '='");
        }
        char c = peek();
        if (c == '"' || c == '\'') {
            return XlValue.string(string());
        }
        if (isDigit(c) || c == '-') {
            return XlValue.number(number());
        }
        if (c == '[') {
            return list();
        }
        throw error("expected a value (a \"string\", a number or a [list]), found " + describe(c));
    }

    private XlValue list() {
        int startLine = line;
        pos++; // '['
        List<String> items = new ArrayList<>();
        while (true) {
            skipBlanksAndNewlines(false);
            if (atEnd()) {
                throw new XlConfigException(source, startLine, currentKey, "list opened here is never closed with ']'");
            }
            if (peek() == ']') {
                pos++;
                return XlValue.list(items);
            }
            char c = peek();
            if (c == '"' || c == '\'') {
                items.add(string());
            } else if (isDigit(c) || c == '-') {
                items.add(number());
            } else if (c == '[') {
                throw error("lists cannot be nested");
            } else {
                throw error("expected a list item (a \"string\" or a number), found " + describe(c));
            }
            skipBlanksAndNewlines(false);
            if (!atEnd() && peek() == ',') {
                pos++;
            } else if (!atEnd() && peek() != ']') {
                throw error("expected ',' or ']' in the list, found " + describe(peek()));
            }
        }
    }

    private String string() {
        char quote = text.charAt(pos++);
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (atEnd() || peek() == '\n') {
                throw error("string is missing its closing " + quote);
            }
            char c = text.charAt(pos++);
            if (c == quote) {
                return sb.toString();
            }
            if (c == '\\') {
                sb.append(escape());
            } else {
                sb.append(c);
            }
        }
    }

    private char escape() {
        if (atEnd()) {
            throw error("string ends in a lone backslash");
        }
        char c = text.charAt(pos++);
        switch (c) {
            case 'n': return '\n';
            case 't': return '\t';
            case 'r': return '\r';
            case '\\': case '"': case '\'': return c;
            case 'x': {
                if (pos + 2 > text.length()) {
                    throw error("\\x needs two hex digits");
                }
                try {
                    int v = Integer.parseInt(text.substring(pos, pos + 2), 16);
                    pos += 2;
                    return (char) v;
                } catch (NumberFormatException e) {
                    throw error("\\x needs two hex digits");
                }
            }
            default:
                throw error("unknown escape \\" + c + " (known: \\n \\t \\r \\\\ \\\" \\' \\xHH)");
        }
    }

    /** A number token as written ({@code 512}, {@code 0x200}, {@code -1}); the key checks its range. */
    private String number() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        while (!atEnd() && (Character.isLetterOrDigit(peek()) || peek() == '.')) {
            pos++;
        }
        String token = text.substring(start, pos);
        if (!token.matches("-?(0x[0-9a-fA-F]+|[0-9]+(\\.[0-9]+)?)")) {
            throw error("\"" + token + "\" is not a number (strings need quotes)");
        }
        return token;
    }

    private String identifier() {
        int start = pos;
        if (atEnd() || !(Character.isLetter(peek()) || peek() == '_')) {
            throw error("expected a key name, found " + describe(atEnd() ? '\0' : peek()));
        }
        while (!atEnd() && isIdentifierChar(peek())) {
            pos++;
        }
        return text.substring(start, pos);
    }

    private void skipBlanks() {
        while (!atEnd()) {
            char c = peek();
            if (c == ' ' || c == '\t' || c == '\r') {
                pos++;
            } else if (c == '#') {
                while (!atEnd() && peek() != '\n') {
                    pos++;
                }
            } else if (c == '\\' && pos + 1 < text.length() && text.charAt(pos + 1) == '\n') {
                pos += 2; // line continuation
                line++;
            } else {
                return;
            }
        }
    }

    private void skipBlanksAndNewlines(boolean alsoEmptyStatements) {
        while (true) {
            skipBlanks();
            if (atEnd()) {
                return;
            }
            if (peek() == '\n') {
                line++;
                pos++;
            } else if (peek() == ';' && alsoEmptyStatements) {
                pos++;
            } else {
                return;
            }
        }
    }

    private XlConfigException error(String problem) {
        return new XlConfigException(source, line, currentKey, problem);
    }

    private boolean atEnd() {
        return pos >= text.length();
    }

    private char peek() {
        return text.charAt(pos);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isIdentifierChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '-';
    }

    static boolean isIdentifier(String s) {
        if (s.isEmpty() || !(Character.isLetter(s.charAt(0)) || s.charAt(0) == '_')) {
            return false;
        }
        return s.chars().allMatch(c -> isIdentifierChar((char) c));
    }

    private static String describe(char c) {
        if (c == '\0') {
            return "end of file";
        }
        if (c < ' ' || c == 0x7f) {
            return String.format("control character 0x%02x", (int) c);
        }
        return "'" + c + "'";
    }
}
