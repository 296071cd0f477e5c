package org.xenj.dom0.toolstack.internal.command;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.BooleanSupplier;

import org.xenj.hypervisor.api.ConsoleAccess;

/**
 * Joins a domain's console to a terminal: guest output to the terminal, keys to the guest, until
 * Ctrl+] (as {@code xl console}), end of input, or the domain goes away. The hypervisor's
 * output callback must not block, so it only queues; this loop does the writing.
 */
final class ConsoleBridge {

    /** Ctrl+] — the escape character of xl console and telnet. */
    static final int DETACH = 0x1d;
    private static final int QUEUE_CHUNKS = 4096;
    private static final long POLL_MILLIS = 20;
    private static final long ALIVE_CHECK_NANOS = 250_000_000L;

    enum End { DETACHED, INPUT_CLOSED, DOMAIN_GONE }

    private final ConsoleAccess console;
    private final KeyInput keys;
    private final OutputStream terminal;
    private final BooleanSupplier domainAlive;
    private final BlockingQueue<byte[]> pending = new ArrayBlockingQueue<>(QUEUE_CHUNKS);
    private volatile boolean dropped;
    private boolean inputRefusedShown;

    ConsoleBridge(ConsoleAccess console, KeyInput keys, OutputStream terminal, BooleanSupplier domainAlive) {
        this.console = console;
        this.keys = keys;
        this.terminal = terminal;
        this.domainAlive = domainAlive;
    }

    End run() throws Exception {
        terminal.write(console.history());
        terminal.flush();
        try (AutoCloseable attached = console.attach(this::queue)) {
            long nextAliveCheck = System.nanoTime() + ALIVE_CHECK_NANOS;
            byte[] typed = new byte[256];
            while (true) {
                drainOutput();
                int n = 0;
                int b = keys.read(POLL_MILLIS);
                while (b >= 0 && b != DETACH) {
                    typed[n++] = (byte) b;
                    if (n == typed.length) {
                        break;
                    }
                    b = keys.read(0);
                }
                if (n > 0) {
                    deliver(java.util.Arrays.copyOf(typed, n));
                }
                if (b == DETACH) {
                    drainOutput();
                    return End.DETACHED;
                }
                if (b == KeyInput.EOF) {
                    drainOutput();
                    return End.INPUT_CLOSED;
                }
                if (System.nanoTime() >= nextAliveCheck) {
                    nextAliveCheck = System.nanoTime() + ALIVE_CHECK_NANOS;
                    if (!domainAlive.getAsBoolean()) {
                        drainOutput();
                        return End.DOMAIN_GONE;
                    }
                }
            }
        }
    }

    /**
     * Keys to the guest. A console that refuses input (no device yet, domain dying) must not end
     * the session: the user still sees output and detaches with Ctrl+]; they are told once.
     */
    private void deliver(byte[] keys) throws IOException {
        try {
            console.write(keys);
        } catch (RuntimeException refused) {
            if (!inputRefusedShown) {
                inputRefusedShown = true;
                terminal.write(("\r\n[xen:console: input not delivered: " + refused.getMessage() + "]\r\n").getBytes());
                terminal.flush();
            }
        }
    }

    /** Called on a hypervisor thread: never blocks; a terminal too slow to keep up loses output. */
    private void queue(byte[] output) {
        if (!pending.offer(output.clone())) {
            dropped = true;
        }
    }

    private void drainOutput() throws IOException {
        byte[] chunk = pending.poll();
        if (chunk == null) {
            return;
        }
        while (chunk != null) {
            terminal.write(chunk);
            chunk = pending.poll();
        }
        if (dropped) {
            dropped = false;
            terminal.write("\r\n[xen:console: output dropped, terminal too slow]\r\n".getBytes());
        }
        terminal.flush();
    }
}
