package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.xenj.hypervisor.api.ConsoleAccess;

/**
 * A guest's busybox shell on its serial console, seen from the toolstack side: everything the guest
 * printed is kept; {@link #run} types a command line and returns what it printed. The end marker is
 * computed by the guest's shell ({@code $((6*7))}), so the echo of the typed line never matches it.
 */
final class GuestShell implements AutoCloseable {

    static final String PROMPT = "~ # ";

    private final String name;
    private final ConsoleAccess access;
    private final AutoCloseable subscription;
    private final ByteArrayOutputStream seen = new ByteArrayOutputStream();
    private int commands;

    GuestShell(String name, ConsoleAccess access) {
        this.name = name;
        this.access = access;
        this.subscription = access.attach(this::collect);
    }

    private synchronized void collect(byte[] b) {
        seen.write(b, 0, b.length);
    }

    synchronized String text() {
        return seen.toString(StandardCharsets.ISO_8859_1);
    }

    String name() {
        return name;
    }

    void type(String s) {
        access.write(s.getBytes(StandardCharsets.US_ASCII));
    }

    /** Index of {@code s} at or after {@code from}, waiting up to {@code millis}; -1 if it never came. */
    int waitFor(String s, int from, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        do {
            int i = text().indexOf(s, from);
            if (i >= 0) {
                return i;
            }
            Thread.sleep(20);
        } while (System.currentTimeMillis() < end);
        return -1;
    }

    /** Runs {@code line} and returns its output; fails the test if the shell does not finish in time. */
    String run(String line, int seconds) throws InterruptedException {
        int n = ++commands;
        int from = text().length();
        type("echo s" + n + "-$((6*7)); " + line + "; echo e" + n + "-$((6*7))\n");
        int end = waitFor("e" + n + "-42", from, seconds * 1000L);
        assertTrue(end >= 0, name + ": the shell did not finish '" + line + "' in " + seconds + " s:\n" + tail(text().substring(from)));
        int start = text().indexOf("s" + n + "-42", from);
        return text().substring(start + ("s" + n + "-42").length(), end);
    }

    /** {@code poweroff -f}; the caller waits for the domain to go. */
    void powerOff() {
        type("poweroff -f\n");
    }

    String tail() {
        return tail(text());
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }

    @Override
    public void close() throws Exception {
        subscription.close();
    }
}
