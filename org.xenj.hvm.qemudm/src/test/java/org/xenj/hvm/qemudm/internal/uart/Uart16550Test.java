package org.xenj.hvm.qemudm.internal.uart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class Uart16550Test {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private boolean irq;
    private int irqRises;
    private Uart16550 uart;

    @BeforeEach
    void setUp() {
        uart = new Uart16550(out::write, level -> {
            if (level != 0 && !irq) {
                irqRises++;
            }
            irq = level != 0;
        });
    }

    private int in(int reg) {
        return uart.ioRead(reg, 1);
    }

    private void outb(int reg, int v) {
        uart.ioWrite(reg, 1, v);
    }

    @Test
    void passesTheLinux8250AutoconfigProbe() {
        outb(7, 0xa5);
        assertEquals(0xa5, in(7), "scratch");
        outb(1, 0);
        assertEquals(0, in(1) & 0x0f);
        outb(1, 0x0f);
        assertEquals(0x0f, in(1) & 0x0f, "IER holds the four enables");
        outb(1, 0);
        outb(4, 0x10 | 0x0a); // loopback + RTS + OUT2
        assertEquals(0x90, in(6) & 0xf0, "loopback wiring: CTS and DCD");
        outb(4, 0);
        outb(2, 0x01);
        assertEquals(3, in(2) >> 6, "FIFOs enabled: 16550A");
        outb(3, 0xbf);
        assertTrue(in(2) != 0, "no EFR: not a 16650");
        outb(3, 0);
        outb(2, 0x21);
        assertEquals(6, in(2) >> 5, "no 64-byte FIFO: not a 16750");
        outb(1, 0x40);
        assertEquals(0, in(1) & 0x40, "no UUE bit: not an XScale");
    }

    @Test
    void divisorLatchIsBehindDlab() {
        outb(3, 0x80);
        outb(0, 0x01);
        outb(1, 0x00);
        assertEquals(0x01, in(0));
        outb(3, 0x03);
        assertEquals(0x03, in(3));
        assertEquals(0, in(1), "IER untouched by DLL/DLM writes");
    }

    @Test
    void transmitGoesToTheConsoleAndThreInterruptFollows() {
        outb(4, 0x08); // OUT2: interrupts reach the PIC
        outb(1, 0x02); // THRI with THR empty: interrupt at once
        assertTrue(irq);
        assertEquals(0x02, in(2) & 0x0f, "THRE is the source");
        assertFalse(irq, "reading IIR acknowledged THRE");
        assertEquals(0x01, in(2) & 0x0f);
        for (byte b : "hi\n".getBytes(StandardCharsets.US_ASCII)) {
            outb(0, b);
        }
        assertEquals("hi\n", out.toString(StandardCharsets.US_ASCII));
        assertTrue(irq, "transmitter empty again");
        assertEquals(0x60, in(5) & 0x60, "THRE and TEMT");
    }

    @Test
    void threReassertsWhenReenabled() {
        // serial8250_do_startup's THRE test: enable, read IIR, disable, enable, read IIR again.
        outb(1, 0x02);
        assertEquals(0x02, in(2) & 0x0f);
        outb(1, 0x00);
        outb(1, 0x02);
        assertEquals(0x02, in(2) & 0x0f);
    }

    @Test
    void interruptLineNeedsOut2() {
        outb(1, 0x02);
        assertFalse(irq);
        outb(4, 0x08);
        assertTrue(irq);
    }

    @Test
    void receivedLineIsDeliveredThroughTheFifoWithoutOverrun() {
        outb(2, 0xc7); // FIFO on, clear, trigger 14
        outb(4, 0x08);
        outb(1, 0x01);
        String line = "uname -a; cat /proc/cpuinfo; echo ok | md5sum\n";
        uart.receive(line.getBytes(StandardCharsets.US_ASCII));
        assertTrue(irq);
        assertEquals(0x04, in(2) & 0x0f, "16 bytes >= trigger: data available");
        StringBuilder got = new StringBuilder();
        while ((in(5) & 0x01) != 0) {
            got.append((char) in(0));
        }
        assertEquals(line, got.toString());
        assertEquals(0, in(5) & 0x02, "no overrun");
        assertFalse(irq);
    }

    @Test
    void fewBytesBelowTriggerReportTimeout() {
        outb(2, 0xc1);
        outb(4, 0x08);
        outb(1, 0x01);
        uart.receive(new byte[] {'a'});
        assertEquals(0x0c, in(2) & 0x0f);
        assertEquals('a', in(0));
        assertEquals(0x01, in(2) & 0x0f);
    }

    @Test
    void loopbackSendsTransmitToReceive() {
        outb(4, 0x10);
        outb(0, 'x');
        assertEquals(0, out.size());
        assertEquals(0x01, in(5) & 0x01);
        assertEquals('x', in(0));
    }

    @Test
    void lineStatusErrorsHaveTopPriorityAndClearOnRead() {
        outb(4, 0x08);
        outb(1, 0x07);
        uart.receive(new byte[Uart16550.BACKLOG + 20]);
        assertEquals(0x06, in(2) & 0x0f);
        assertEquals(0x02, in(5) & 0x02);
        assertEquals(0, in(5) & 0x02);
    }

    @Test
    void modemStatusDeltasInLoopback() {
        outb(4, 0x10);
        outb(4, 0x10 | 0x01); // DTR -> DSR
        int msr = in(6);
        assertEquals(0x20, msr & 0x20);
        assertEquals(0x02, msr & 0x02, "delta DSR");
        assertEquals(0, in(6) & 0x0f, "deltas clear on read");
    }
}
