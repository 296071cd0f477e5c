package org.xenj.dom0.vnc.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

/**
 * Hostile clients: random bytes in place of the handshake, and valid handshakes followed by random
 * or mutated messages (absurd rectangles, lengths, pixel formats, encodings). Every one is dropped
 * or served; none causes an internal error, and a good client is served afterwards.
 */
class RfbFuzzTest {

    static final int CONNECTIONS = 2000;

    @Test
    void hostileClientsAreDroppedNeverCrashAnything() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1", "vncshared", "1"), 200, 100);
        DisplayHost host = new DisplayHost(d, VncSettings.of(d.settings), log::add);
        host.start();
        Random r = new Random(2026);
        long messages = 0;
        try {
            for (int i = 0; i < CONNECTIONS; i++) {
                try (Socket s = new Socket("127.0.0.1", host.port())) {
                    s.setSoTimeout(2000);
                    OutputStream out = s.getOutputStream();
                    java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
                    in.readFully(new byte[12]);
                    if (i % 10 == 0) {
                        byte[] junk = new byte[1 + r.nextInt(64)];
                        r.nextBytes(junk);
                        out.write(junk);
                        continue;
                    }
                    out.write("RFB 003.008\n".getBytes());
                    in.readFully(new byte[2]);
                    out.write(1);
                    in.readInt();
                    out.write(1);
                    in.readFully(new byte[4 + 16]);
                    in.readFully(new byte[in.readInt()]);
                    byte[] msgs = hostileMessages(r);
                    messages += 1 + msgs.length / 8;
                    out.write(msgs);
                    out.flush();
                } catch (IOException dropped) {
                    // the server closed on us: what a hostile client should get
                }
            }
            RfbServerTest.waitFor(() -> host.endpoint().clients() == 0);
            try (RfbTestClient good = new RfbTestClient(host.port())) {
                assertNull(good.handshake(8, null, true));
                good.setEncodings(16);
                good.request(false, 0, 0, 200, 100);
                good.readUpdate();
                assertArrayEquals(d.picture, good.screen);
            }
            System.out.println("vnc fuzz: " + CONNECTIONS + " hostile connections, ~" + messages + " messages, "
                    + host.internalErrors.get() + " internal errors");
            assertEquals(0, host.internalErrors.get(), log.toString());
            assertEquals(0, log.stream().filter(l -> l.contains("internal error")).count());
        } finally {
            host.close();
        }
    }

    /** A run of messages: valid ones with absurd fields, mutated ones, and plain noise. */
    static byte[] hostileMessages(Random r) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream o = new java.io.DataOutputStream(b);
        try {
            for (int m = 0; m < 1 + r.nextInt(12); m++) {
                switch (r.nextInt(8)) {
                    case 0 -> { // SetPixelFormat with random fields
                        o.write(0);
                        o.write(new byte[3]);
                        byte[] pf = new byte[16];
                        r.nextBytes(pf);
                        if (r.nextBoolean()) {
                            pf[0] = (byte) new int[] { 8, 16, 32 }[r.nextInt(3)];
                            pf[3] = 1;
                        }
                        o.write(pf);
                    }
                    case 1 -> { // SetEncodings, count possibly absurd
                        o.write(2);
                        o.write(0);
                        int n = r.nextBoolean() ? r.nextInt(8) : r.nextInt(65536);
                        o.writeShort(n);
                        for (int i = 0; i < Math.min(n, 16); i++) {
                            o.writeInt(r.nextBoolean() ? new int[] { 0, 1, 16, -223, 5, 7 }[r.nextInt(6)] : r.nextInt());
                        }
                    }
                    case 2 -> { // update request with any rectangle
                        o.write(3);
                        o.write(r.nextInt(2));
                        for (int i = 0; i < 4; i++) {
                            o.writeShort(r.nextBoolean() ? r.nextInt(65536) : r.nextInt(300));
                        }
                    }
                    case 3 -> {
                        o.write(4);
                        o.write(r.nextInt(2));
                        o.writeShort(0);
                        o.writeInt(r.nextBoolean() ? r.nextInt() : 0xff00 | r.nextInt(256));
                    }
                    case 4 -> {
                        o.write(5);
                        o.write(r.nextInt(256));
                        o.writeShort(r.nextInt(65536));
                        o.writeShort(r.nextInt(65536));
                    }
                    case 5 -> { // cut text with any length
                        o.write(6);
                        o.write(new byte[3]);
                        int n = r.nextBoolean() ? r.nextInt(100) : r.nextInt();
                        o.writeInt(n);
                        o.write(new byte[Math.max(0, Math.min(n, 100))]);
                    }
                    case 6 -> o.write(7 + r.nextInt(249)); // unknown type
                    default -> {
                        byte[] noise = new byte[r.nextInt(32)];
                        r.nextBytes(noise);
                        o.write(noise);
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return b.toByteArray();
    }
}
