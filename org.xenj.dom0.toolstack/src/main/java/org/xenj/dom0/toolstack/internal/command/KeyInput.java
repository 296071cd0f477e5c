package org.xenj.dom0.toolstack.internal.command;

import java.io.IOException;
import java.io.InputStream;

/** Keyboard bytes with a timeout, so that the console loop can also watch the guest's output. */
interface KeyInput {

    int TIMEOUT = -2;
    int EOF = -1;

    /** A byte (0..255), {@link #TIMEOUT} when none came within {@code millis}, or {@link #EOF}. */
    int read(long millis) throws IOException;

    /**
     * Any input stream: polls {@link InputStream#available()}, so a stream that cannot tell is
     * read only when it says bytes are there (never blocks past the timeout).
     */
    static KeyInput polling(InputStream in) {
        return millis -> {
            long deadline = System.nanoTime() + millis * 1_000_000L;
            while (true) {
                if (in.available() > 0) {
                    return in.read();
                }
                if (System.nanoTime() >= deadline) {
                    return TIMEOUT;
                }
                try {
                    Thread.sleep(Math.min(10, Math.max(1, millis)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return EOF;
                }
            }
        };
    }
}
