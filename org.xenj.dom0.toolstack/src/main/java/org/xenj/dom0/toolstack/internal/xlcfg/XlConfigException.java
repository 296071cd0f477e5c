package org.xenj.dom0.toolstack.internal.xlcfg;

import org.xenj.hypervisor.api.HypervisorException;

/**
 * A configuration the toolstack refuses. The message names the file (or {@code command line}),
 * the line and the key, like {@code web.cfg:7: key 'memory': expected a number of MiB, got "lots"}.
 */
public class XlConfigException extends HypervisorException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final int line;
    private final String key;

    public XlConfigException(String source, int line, String key, String problem) {
        super(format(source, line, key, problem));
        this.source = source;
        this.line = line;
        this.key = key;
    }

    public static XlConfigException at(XlSetting s, String problem) {
        return new XlConfigException(s.source(), s.line(), s.key(), problem);
    }

    private static String format(String source, int line, String key, String problem) {
        StringBuilder sb = new StringBuilder(source);
        if (line > 0) {
            sb.append(':').append(line);
        }
        sb.append(": ");
        if (key != null) {
            sb.append("key '").append(key).append("': ");
        }
        return sb.append(problem).toString();
    }

    public String source() {
        return source;
    }

    /** 1-based line, or 0 when the problem has no line (a missing key). */
    public int line() {
        return line;
    }

    /** The key at fault, or {@code null} for a syntax error before any key. */
    public String key() {
        return key;
    }
}
