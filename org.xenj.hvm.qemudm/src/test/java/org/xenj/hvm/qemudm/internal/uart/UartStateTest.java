package org.xenj.hvm.qemudm.internal.uart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The UART's state record is complete: a second UART restored from the first's record (through its
 * bytes) answers every register read, interrupt and received byte exactly as the first does from
 * then on — checked by driving both with the same random register traffic and console input.
 */
class UartStateTest {

    private static final class Probe {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final StringBuilder irq = new StringBuilder();
        final Uart16550 uart = new Uart16550(out::write, level -> irq.append(level));
    }

    @Test
    void aRestoredUartBehavesExactlyLikeTheOriginal() throws IOException {
        SplittableRandom r = new SplittableRandom(0x8250);
        for (int round = 0; round < 200; round++) {
            Probe a = new Probe();
            drive(a.uart, r, r.nextInt(0, 60));
            Probe b = new Probe();
            b.uart.restoreState(UartState.fromBytes(a.uart.saveState().toBytes()));
            assertEquals(a.uart.saveState(), b.uart.saveState(), "restore is the inverse of save");
            a.irq.setLength(0);
            b.irq.setLength(0);
            int sentBefore = a.out.size();
            // the same traffic from here on must give the same reads, output and interrupt edges
            long seed = r.nextLong();
            StringBuilder ra = drive(a.uart, new SplittableRandom(seed), 200);
            StringBuilder rb = drive(b.uart, new SplittableRandom(seed), 200);
            assertEquals(ra.toString(), rb.toString(), "register reads, round " + round);
            assertEquals(new String(a.out.toByteArray(), StandardCharsets.ISO_8859_1).substring(sentBefore),
                    new String(b.out.toByteArray(), StandardCharsets.ISO_8859_1), "transmitted bytes, round " + round);
            assertEquals(a.irq.toString(), b.irq.toString(), "interrupt edges, round " + round);
        }
    }

    /** Random register reads/writes and console input; returns what the reads returned (and counts writes to THR). */
    private static StringBuilder drive(Uart16550 u, SplittableRandom r, int steps) {
        StringBuilder log = new StringBuilder();
        int thr = 0;
        for (int i = 0; i < steps; i++) {
            switch (r.nextInt(4)) {
                case 0 -> log.append(u.ioRead(r.nextInt(8), 1)).append(',');
                case 1 -> {
                    int reg = r.nextInt(8);
                    int v = r.nextInt(256);
                    if (reg == 4) {
                        v &= ~0x10; // no loopback: transmitted bytes go to the output
                    }
                    u.ioWrite(reg, 1, v);
                }
                case 2 -> u.receive(new byte[] {(byte) r.nextInt(256), (byte) r.nextInt(256)});
                default -> {
                    u.ioWrite(3, 1, 0x03); // DLAB off
                    u.ioWrite(0, 1, 'a' + r.nextInt(26));
                    thr++;
                }
            }
        }
        log.append("thr=").append(thr);
        return log;
    }

    @Test
    void damagedRecordsAreRefused() {
        byte[] good = new Uart16550((d, o, l) -> { }, l -> { }).saveState().toBytes();
        byte[] magic = good.clone();
        magic[0] = 0;
        assertThrows(IOException.class, () -> UartState.fromBytes(magic));
        byte[] version = good.clone();
        version[7] = 2;
        assertTrue(assertThrows(IOException.class, () -> UartState.fromBytes(version)).getMessage().contains("version 2"));
        byte[] cut = java.util.Arrays.copyOf(good, good.length - 1);
        assertThrows(IOException.class, () -> UartState.fromBytes(cut));
    }
}
