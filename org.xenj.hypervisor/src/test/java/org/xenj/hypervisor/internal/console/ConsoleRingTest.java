package org.xenj.hypervisor.internal.console;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.HypervisorException;

class ConsoleRingTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void keepsTheNewestBytesAndFeedsSubscribers() throws Exception {
        ConsoleRing c = new ConsoleRing("d1", 8);
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        AutoCloseable h = c.attach(seen::writeBytes);
        c.output(b("hello "), 0, 6);
        c.output(b("world"), 0, 5);
        assertArrayEquals(b("lo world"), c.history());
        assertEquals("hello world", seen.toString(StandardCharsets.US_ASCII));
        h.close();
        c.output(b("!"), 0, 1);
        assertEquals("hello world", seen.toString(StandardCharsets.US_ASCII));
        c.output(b("0123456789ABC"), 0, 13);
        assertArrayEquals(b("56789ABC"), c.history());
    }

    @Test
    void aThrowingSubscriberIsDroppedAndInputNeedsADevice() {
        ConsoleRing c = new ConsoleRing("d1", 16);
        c.attach(x -> {
            throw new IllegalStateException("bad consumer");
        });
        c.output(b("a"), 0, 1);
        c.output(b("b"), 0, 1);
        assertArrayEquals(b("ab"), c.history());
        assertThrows(HypervisorException.class, () -> c.write(b("x")));
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        c.setInput(in::writeBytes);
        c.write(b("ls\n"));
        assertEquals("ls\n", in.toString(StandardCharsets.US_ASCII));
    }
}
