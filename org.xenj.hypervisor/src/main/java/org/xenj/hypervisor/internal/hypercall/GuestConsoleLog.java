package org.xenj.hypervisor.internal.hypercall;

import java.util.function.Consumer;

/**
 * What a guest writes with {@code console_io(CONSOLEIO_write)}: as on Xen, it goes to the
 * hypervisor's log ({@code xen:dmesg}, Xen's {@code xl dmesg}; the domain's log lines carry its
 * "(dN)" already), not to the domain's console (the console ring is that). Lines are cut at a newline or at {@link #MAX_LINE}
 * characters; control characters other than tab are shown as '.', so a guest cannot forge log lines.
 */
public final class GuestConsoleLog {

    static final int MAX_LINE = 256;

    private final Consumer<String> log;
    private final StringBuilder line = new StringBuilder();

    public GuestConsoleLog(Consumer<String> log) {
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
        log.accept(line.toString());
        line.setLength(0);
    }
}
