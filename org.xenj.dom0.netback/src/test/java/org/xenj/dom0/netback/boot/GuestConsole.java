package org.xenj.dom0.netback.boot;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.xenj.hypervisor.api.ConsoleAccess;

/** A guest's serial console from the toolstack side: everything it printed, and commands typed into it. */
final class GuestConsole implements AutoCloseable {

    static final String PROMPT = "~ # ";
    private final ConsoleAccess access;
    private final ByteArrayOutputStream seen = new ByteArrayOutputStream();
    private final AutoCloseable subscription;
    private int mark;
    private int serial;

    GuestConsole(ConsoleAccess access) {
        this.access = access;
        this.subscription = access.attach(this::collect);
    }

    private synchronized void collect(byte[] b) {
        seen.write(b, 0, b.length);
    }

    synchronized String text() {
        return seen.toString(StandardCharsets.ISO_8859_1);
    }

    int waitFor(String s, int from, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            int i = text().indexOf(s, from);
            if (i >= 0) {
                return i;
            }
            Thread.sleep(50);
        }
        return -1;
    }

    /**
     * Types {@code command} and waits for it to finish; returns what it printed (null on timeout).
     * The end marker is computed by the shell ({@code $((…))}) so the echo of the typed line never matches it.
     */
    String run(String command, long millis) throws InterruptedException {
        int n = ++serial;
        int from = text().length();
        access.write((command + "; echo \"done-$((" + n + "*1000+7))-$?\"\n").getBytes(StandardCharsets.US_ASCII));
        String marker = "done-" + (n * 1000 + 7) + "-";
        int end = waitFor(marker, from, millis);
        if (end < 0) {
            return null;
        }
        mark = end;
        return text().substring(from, end);
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }

    @Override
    public void close() throws Exception {
        subscription.close();
    }
}
