package org.xenj.hypervisor.internal.hypercall;

import java.util.function.Consumer;

/**
 * What a guest writes with {@code console_io(CONSOLEIO_write)}: as on Xen, it goes to the
 * hypervisor's log ({@code xen:dmesg}, Xen's {@code xl dmesg}) as lines prefixed "(dN) ", not to the
 * domain's console (the console ring is that). Lines are cut at a newline or at {@link #MAX_LINE}
 * characters; control characters other than tab are shown as '.', so a guest cannot forge log lines.
 */
public final class GuestConsoleLog {

    static final int MAX_LINE = 256;

    private final String prefix;
    private final Consumer<String> log;
    private final StringBuilder line = new StringBuilder();

    public GuestConsoleLog(int domid, Consumer<String> log) {
        this.prefix = "(d" + domid + ") ";
        this.log = log;
    }

    public synchronized void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            int ch = b[i] & 0xff;
            if (ch == '\n') {
                flush();
            } else if (ch != '\r') {
                line.append(ch == '\t' || ch >= 0x20 && ch < 0x7f ? (char) ch : '.');
                if (line.length() >= MAX_LINE) {
                    flush();
                }
            }
        }
    }

    private void flush() {
        log.accept(prefix + line);
        line.setLength(0);
    }
}
