package org.xenj.dom0.blkback.boot;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** A guest's serial shell seen from the host (xenj's console or QEMU's stdio): write commands, wait for markers. */
abstract class GuestShell implements AutoCloseable {

    static final String PROMPT = "~ # ";
    static final String CMDLINE = System.getProperty("xenj.boot.cmdline", "console=ttyS0 cryptomgr.notests nokaslr");

    private final ByteArrayOutputStream seen = new ByteArrayOutputStream();

    final synchronized void collect(byte[] b) {
        seen.write(b, 0, b.length);
    }

    final synchronized String text() {
        return seen.toString(StandardCharsets.ISO_8859_1);
    }

    abstract void write(byte[] b) throws Exception;

    final void write(String s) throws Exception {
        write(s.getBytes(StandardCharsets.US_ASCII));
    }

    final int waitFor(String s, int from, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            int i = text().indexOf(s, from);
            if (i >= 0) {
                return i;
            }
            Thread.sleep(20);
        }
        return -1;
    }

    /**
     * Runs a shell line and returns what it printed between a start and an end marker. The markers
     * are computed by the shell ({@code $((6*7))}), so the echoed command line matches neither.
     */
    final String command(String line, String tag, int seconds) throws Exception {
        int from = text().length();
        write("echo " + tag + "-start-$((6*7)); " + line + "; echo " + tag + "-end-$((6*7))\n");
        int end = waitFor(tag + "-end-42", from, seconds * 1000L);
        assertTrue(end >= 0, "the shell did not finish '" + tag + "':\n" + tail(text().substring(from)));
        int start = text().indexOf(tag + "-start-42", from);
        return text().substring(start + tag.length() + 9, end);
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }

    /** A xenj domain's console, seen from the toolstack side. */
    static final class XenConsole extends GuestShell {
        final org.xenj.hypervisor.api.ConsoleAccess access;
        final AutoCloseable subscription;

        XenConsole(org.xenj.hypervisor.api.ConsoleAccess access) {
            this.access = access;
            this.subscription = access.attach(this::collect);
        }

        @Override
        void write(byte[] b) {
            access.write(b);
        }

        @Override
        public void close() throws Exception {
            subscription.close();
        }
    }
}
