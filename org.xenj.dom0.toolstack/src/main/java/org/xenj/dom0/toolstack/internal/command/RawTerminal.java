package org.xenj.dom0.toolstack.internal.command;

import java.io.InputStream;

import org.apache.karaf.shell.api.console.Session;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.utils.NonBlockingInputStream;

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

    KeyInput keys() {
        InputStream in = terminal.input();
        if (in instanceof NonBlockingInputStream nb) {
            return millis -> {
                int b = nb.read(Math.max(1, millis));
                return b == NonBlockingInputStream.READ_EXPIRED ? KeyInput.TIMEOUT : b;
            };
        }
        return KeyInput.polling(in);
    }

    @Override
    public void close() {
        terminal.setAttributes(saved);
    }
}
