package org.xenj.dom0.toolstack.internal.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

class ConsoleBridgeTest {

    /** Keys scripted in advance; guest output is injected when a given key is read. */
    static final class ScriptedKeys implements KeyInput {
        final Deque<Integer> keys = new ArrayDeque<>();
        Runnable onFirstRead;
        boolean eofWhenEmpty;

        @Override
        public int read(long millis) {
            if (onFirstRead != null) {
                Runnable r = onFirstRead;
                onFirstRead = null;
                r.run();
                return TIMEOUT;
            }
            if (keys.isEmpty()) {
                return eofWhenEmpty ? EOF : TIMEOUT;
            }
            return keys.poll();
        }
    }

    @Test
    void historyThenLiveOutputThenTypedKeysUntilCtrlBracket() throws Exception {
        StubHypervisor.StubConsole console = new StubHypervisor.StubConsole();
        ScriptedKeys keys = new ScriptedKeys();
        keys.onFirstRead = () -> console.attached.accept("$ ".getBytes());
        for (char c : "ls\r".toCharArray()) {
            keys.keys.add((int) c);
        }
        keys.keys.add(ConsoleBridge.DETACH);
        keys.keys.add((int) 'x'); // after the detach: must not reach the guest
        ByteArrayOutputStream term = new ByteArrayOutputStream();

        ConsoleBridge.End end = new ConsoleBridge(console, keys, term, () -> true).run();

        assertEquals(ConsoleBridge.End.DETACHED, end);
        assertEquals("boot log\n$ ", term.toString(StandardCharsets.UTF_8));
        assertEquals("ls\r", console.typed.toString(StandardCharsets.UTF_8));
        assertTrue(console.detached);
    }

    @Test
    void endsWhenTheDomainIsGone() throws Exception {
        StubHypervisor.StubConsole console = new StubHypervisor.StubConsole();
        AtomicBoolean alive = new AtomicBoolean(false);
        ConsoleBridge.End end = new ConsoleBridge(console, new ScriptedKeys(), new ByteArrayOutputStream(), alive::get).run();
        assertEquals(ConsoleBridge.End.DOMAIN_GONE, end);
        assertTrue(console.detached);
    }

    @Test
    void endsAtEndOfInput() throws Exception {
        StubHypervisor.StubConsole console = new StubHypervisor.StubConsole();
        ScriptedKeys keys = new ScriptedKeys();
        keys.keys.add((int) 'a');
        keys.eofWhenEmpty = true;
        ConsoleBridge.End end = new ConsoleBridge(console, keys, new ByteArrayOutputStream(), () -> true).run();
        assertEquals(ConsoleBridge.End.INPUT_CLOSED, end);
        assertEquals("a", console.typed.toString(StandardCharsets.UTF_8));
    }

    @Test
    void refusedInputIsReportedOnceAndTheSessionGoesOn() throws Exception {
        StubHypervisor.StubConsole console = new StubHypervisor.StubConsole() {
            @Override
            public synchronized void write(byte[] input) {
                throw new org.xenj.hypervisor.api.HypervisorException("no console device");
            }
        };
        ScriptedKeys keys = new ScriptedKeys();
        keys.keys.add((int) 'a');
        keys.keys.add(KeyInput.TIMEOUT);
        keys.keys.add((int) 'b');
        keys.keys.add(ConsoleBridge.DETACH);
        ByteArrayOutputStream term = new ByteArrayOutputStream();
        ConsoleBridge.End end = new ConsoleBridge(console, keys, term, () -> true).run();
        assertEquals(ConsoleBridge.End.DETACHED, end);
        String shown = term.toString(StandardCharsets.UTF_8);
        assertEquals(1, shown.split("input not delivered: no console device", -1).length - 1, shown);
    }

    @Test
    void pollingKeyInputTimesOutAndReads() throws Exception {
        java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(new byte[] {7});
        KeyInput k = KeyInput.polling(in);
        assertEquals(7, k.read(10));
        assertEquals(KeyInput.TIMEOUT, k.read(5));
    }
}
