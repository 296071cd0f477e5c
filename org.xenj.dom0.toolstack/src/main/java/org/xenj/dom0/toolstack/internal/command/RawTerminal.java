package org.xenj.dom0.toolstack.internal.command;

import java.nio.charset.StandardCharsets;

import org.apache.karaf.shell.api.console.Session;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.utils.NonBlockingReader;

/**
 * The session's JLine terminal in raw mode (keys reach the guest one by one, Ctrl+C included,
 * as with xl console). Only this class touches JLine: without it the console runs line-buffered.
 */
final class RawTerminal implements AutoCloseable {

    /** Where Karaf keeps the session's JLine terminal. */
    private static final String JLINE_TERMINAL = ".jline.terminal";

    private final Terminal terminal;
    private final Attributes saved;

    private RawTerminal(Terminal terminal) {
        this.terminal = terminal;
        this.saved = terminal.enterRawMode();
    }

    /** Raw mode for the session's terminal, or {@code null} when there is none (piped input). */
    static RawTerminal enter(Session session) {
        try {
            Object t = session == null ? null : session.get(JLINE_TERMINAL);
            if (t instanceof Terminal jline && !Terminal.TYPE_DUMB.equals(jline.getType())) {
                return new RawTerminal(jline);
            }
        } catch (LinkageError | RuntimeException noJline) {
            // no JLine, or a terminal that cannot go raw: fall back to line mode
        }
        return null;
    }

    /**
     * Keys through the terminal's reader, the same one the shell's line reader uses: reading its
     * input stream directly would leave the shell deaf after we return. Characters beyond ASCII
     * go to the guest as UTF-8 bytes.
     */
    KeyInput keys() {
        NonBlockingReader reader = terminal.reader();
        byte[] pending = new byte[4];
        int[] pendingPos = {0, 0};
        return millis -> {
            if (pendingPos[0] < pendingPos[1]) {
                return pending[pendingPos[0]++] & 0xff;
            }
            int c = reader.read(Math.max(1, millis));
            if (c == NonBlockingReader.READ_EXPIRED) {
                return KeyInput.TIMEOUT;
            }
            if (c < 0x80) {
                return c; // ASCII, or EOF (-1)
            }
            byte[] utf8 = String.valueOf((char) c).getBytes(StandardCharsets.UTF_8);
            System.arraycopy(utf8, 0, pending, 0, utf8.length);
            pendingPos[0] = 1;
            pendingPos[1] = utf8.length;
            return pending[0] & 0xff;
        };
    }

    @Override
    public void close() {
        terminal.setAttributes(saved);
    }
}
