package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.platform.FakeClock;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;
import org.xenj.hypervisor.internal.platform.PlatformState;

/**
 * The console's whole interrupt path across a save and restore: COM1 (the real {@link Uart16550}
 * in {@link PcDevices}) → ISA IRQ 4 → the real platform's PIC/IOAPIC → local APIC → the vCPU, with
 * a guest side that does what Linux's 8250 driver does (startup writes, the interrupt handler's
 * IIR/LSR/RBR loop, start_tx/stop_tx through IER.THRI, the EOI). Each test stops the domain at a
 * delicate instant — a received byte's interrupt raised but not taken, taken but not yet handled,
 * a THRE interrupt pending, console input between the device and the platform part of the save —
 * restores both records as {@code HvmGuest.restoreMachine} does (fresh devices built and detached,
 * the platform's record, then the saved devices attached: {@code HvmPlatformImpl.restoreState(s,
 * attachDevices)}), and checks that the restored guest
 * gets every byte typed after the restore, each through an interrupt: a line left high in one
 * record and low in the other makes no edge any more and the guest's driver waits forever (the
 * "restored domain never answered its first command" symptom).
 */
class ConsoleInterruptRestoreTest {

    static final long LAPIC = 0xfee00000L, IOAPIC = 0xfec00000L;
    static final int COM1 = 0x3f8, VECTOR = 0x34; // Linux's ISA_IRQ_VECTOR(4)
    static final int IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04;

    /** One domain's platform and devices, and the guest driver's view (its IER shadow, what it read and has to send). */
    static final class Machine {
        final FakeGuestContext ctx = new FakeGuestContext(DomainConfig.builder("c").type(DomainType.HVM).memoryMiB(8)
                .kernel("bzImage").build());
        final FakeClock clock = new FakeClock();
        final HvmPlatformImpl platform = new HvmPlatformImpl(ctx, clock, 0);
        final CpuEnvironment cpu = platform.environment(0);
        PcDevices devices;
        /** IRQ 4 through the 8259 (Linux's noapic) rather than the IOAPIC. */
        boolean pic;
        int ier; // up->ier
        final StringBuilder received = new StringBuilder();
        final StringBuilder toSend = new StringBuilder();

        void type(String s) {
            ctx.consoleInput.input(s.getBytes(StandardCharsets.US_ASCII));
        }

        String output() {
            synchronized (ctx) {
                return ctx.console.toString(StandardCharsets.US_ASCII);
            }
        }

        /** The vCPU with IF=1 at an instruction boundary: the vector it takes now, or -1. */
        int take() {
            return cpu.interruptPending() ? cpu.acknowledgeInterrupt() : -1;
        }

        /** serial8250_interrupt for the one port on the line, then the local APIC EOI (ack_edge). */
        void handle() {
            for (int pass = 0; pass < 64; pass++) {
                int iir = cpu.ioRead(COM1 + 2, 1);
                if ((iir & 1) != 0) {
                    break;
                }
                int lsr = cpu.ioRead(COM1 + 5, 1);
                for (int n = 0; (lsr & 0x01) != 0 && n < 256; n++) { // serial8250_rx_chars
                    received.append((char) cpu.ioRead(COM1, 1));
                    lsr = cpu.ioRead(COM1 + 5, 1);
                }
                if ((lsr & 0x20) != 0 && (ier & IER_THRI) != 0) { // serial8250_tx_chars
                    for (int n = 0; n < 16 && toSend.length() > 0; n++) {
                        cpu.ioWrite(COM1, 1, toSend.charAt(0));
                        toSend.deleteCharAt(0);
                    }
                    if (toSend.length() == 0) {
                        stopTx();
                    }
                }
            }
            eoi();
        }

        void eoi() {
            if (pic) {
                cpu.ioWrite(0x20, 1, 0x20); // non-specific EOI to the master
            } else {
                cpu.mmioWrite(LAPIC + 0xb0, 4, 0);
            }
        }

        /** Takes and handles interrupts until none is deliverable; how many were COM1's. */
        int runGuest() {
            int serial = 0;
            for (int v; (v = take()) >= 0;) {
                if (v == VECTOR) {
                    serial++;
                    handle();
                } else {
                    eoi();
                }
            }
            return serial;
        }

        void startTx(String s) { // uart_write → serial8250_start_tx
            toSend.append(s);
            if ((ier & IER_THRI) == 0) {
                ier |= IER_THRI;
                cpu.ioWrite(COM1 + 1, 1, ier);
            }
        }

        void stopTx() {
            ier &= ~IER_THRI;
            cpu.ioWrite(COM1 + 1, 1, ier);
        }
    }

    /** Firmware-like controller set-up and Linux's 8250 startup with IRQ 4 through the IOAPIC (or the PIC). */
    static Machine booted(boolean ioApic) {
        Machine m = new Machine();
        m.devices = PcDevices.attach(m.platform);
        m.pic = !ioApic;
        CpuEnvironment c = m.cpu;
        int imr = ioApic ? 0xff : ~(1 << 4 | 1 << 2) & 0xff; // with the IOAPIC Linux masks the whole 8259 pair
        int[] icw = {0x20, 0x11, 0x21, 0x30, 0x21, 0x04, 0x21, 0x01, 0xa0, 0x11, 0xa1, 0x38, 0xa1, 0x02, 0xa1, 0x01, 0x21, imr,
            0xa1, 0xff};
        for (int i = 0; i < icw.length; i += 2) {
            c.ioWrite(icw[i], 1, icw[i + 1]);
        }
        c.mmioWrite(LAPIC + 0xf0, 4, 0x1ff); // software-enabled
        if (ioApic) {
            c.mmioWrite(LAPIC + 0x350, 4, 0x10000); // LINT0 masked: no virtual wire
            c.mmioWrite(IOAPIC, 4, 0x10 + 2 * 4); // pin 4: vector 0x34, edge, active high, fixed, to APIC 0
            c.mmioWrite(IOAPIC + 0x10, 4, VECTOR);
        } else {
            c.mmioWrite(LAPIC + 0x350, 4, 0x700); // LINT0 ExtINT: the 8259 reaches the CPU
        }
        // serial8250_do_startup: clear the FIFOs, enable them (trigger 8), 8N1, DTR|RTS|OUT2, then RLSI|RDI
        c.ioWrite(COM1 + 2, 1, 0x07);
        c.ioWrite(COM1 + 2, 1, 0x81);
        c.ioWrite(COM1 + 3, 1, 0x03);
        for (int r : new int[] {5, 0, 2, 6}) {
            c.ioRead(COM1 + r, 1);
        }
        c.ioWrite(COM1 + 4, 1, 0x0b);
        m.ier = IER_RLSI | IER_RDI;
        c.ioWrite(COM1 + 1, 1, m.ier);
        assertEquals(0, m.runGuest(), "nothing pending after startup");
        m.type("a");
        assertEquals(1, m.runGuest(), "a typed byte interrupts before any save");
        assertEquals("a", m.received.toString());
        m.received.setLength(0);
        return m;
    }

    /** The two records as {@code HvmGuest.saveMachine} takes them: the device models' first, then the platform's. */
    record Image(byte[] devices, PlatformState platform) {
    }

    static Image save(Machine m, Runnable betweenTheRecords) throws IOException {
        byte[] dev = m.devices.saveState();
        betweenTheRecords.run();
        return new Image(dev, PlatformState.fromBytes(m.platform.saveState().toBytes()));
    }

    /** {@code HvmGuest.restoreMachine} into a new domain: fresh devices make way, the platform record, then the saved devices. */
    static Machine restore(Image image, boolean ioApic, Machine original) throws IOException {
        Machine m = new Machine();
        PcDevices fresh = PcDevices.attach(m.platform);
        fresh.detach();
        PcDevicesState saved = PcDevicesState.fromBytes(image.devices());
        m.platform.restoreState(image.platform(), () -> m.devices = PcDevices.attach(m.platform, saved));
        m.pic = !ioApic;
        m.ier = original.ier;
        m.toSend.append(original.toSend);
        return m;
    }

    /** After the restore: every byte typed now reaches the guest through an interrupt, several times over. */
    static void answersTypedLines(Machine r) {
        for (String line : new String[] {"uname -a\n", "x", "echo ok | md5sum\n"}) {
            r.received.setLength(0);
            r.type(line);
            assertTrue(r.runGuest() >= 1, "no COM1 interrupt for '" + line.strip() + "' typed after the restore");
            assertEquals(line, r.received.toString());
        }
        r.startTx("~ # ");
        assertTrue(r.runGuest() >= 1, "no THRE interrupt for output after the restore");
        assertTrue(r.output().endsWith("~ # "), "output: " + r.output());
    }

    @Test
    void aByteWhoseInterruptIsRaisedButNotTakenArrivesAfterTheRestore() throws IOException {
        for (boolean ioApic : new boolean[] {true, false}) {
            Machine m = booted(ioApic);
            m.type("q");
            assertTrue(m.cpu.interruptPending(), "raised, not taken (IF=0)");
            // what LinuxBootTest's report of a silent console shows
            assertTrue(m.devices.com1().debugState().matches(".*IER=05 IIR\\(pending\\)=0c .* rx=1 backlog=0 line=high"),
                    m.devices.com1().debugState());
            if (ioApic) {
                assertTrue(m.platform.debugState().contains("IOAPIC lines=000010 unmasked: 4->34E\n"), m.platform.debugState());
            }
            Machine r = restore(save(m, () -> { }), ioApic, m);
            assertEquals(1, r.runGuest(), "the pending interrupt is delivered once (ioApic=" + ioApic + ")");
            assertEquals("q", r.received.toString());
            answersTypedLines(r);
        }
    }

    @Test
    void aByteWhoseInterruptIsInServiceButNotHandledArrivesAfterTheRestore() throws IOException {
        for (boolean ioApic : new boolean[] {true, false}) {
            Machine m = booted(ioApic);
            m.type("q");
            assertEquals(VECTOR, m.take(), "taken: in service, the handler has not read the UART yet");
            Machine r = restore(save(m, () -> { }), ioApic, m);
            assertEquals(-1, r.take(), "nothing new to deliver while the handler's vector is in service");
            r.handle(); // the handler goes on in the restored domain
            assertEquals("q", r.received.toString());
            answersTypedLines(r);
        }
    }

    @Test
    void aPendingThreInterruptIsDeliveredAfterTheRestore() throws IOException {
        for (boolean ioApic : new boolean[] {true, false}) {
            Machine m = booted(ioApic);
            m.startTx("prompt> ");
            assertTrue(m.cpu.interruptPending(), "THRE raised by start_tx");
            Machine r = restore(save(m, () -> { }), ioApic, m);
            assertTrue(r.runGuest() >= 1); // writing THR re-raises THRE while the handler runs: a second, empty pass may follow
            assertEquals("prompt> ", r.output());
            assertEquals(0, r.ier & IER_THRI, "stop_tx once the buffer is empty");
            answersTypedLines(r);
        }
    }

    @Test
    void aByteHalfReadWithMoreInTheFifoIsHandledAfterTheRestore() throws IOException {
        for (boolean ioApic : new boolean[] {true, false}) {
            Machine m = booted(ioApic);
            m.type("0123456789abcdefghijklmnopqrstuvwxyz\n"); // more than the FIFO: the rest waits in the backlog
            assertEquals(VECTOR, m.take());
            m.cpu.ioRead(COM1 + 2, 1);
            m.received.append((char) m.cpu.ioRead(COM1, 1)); // the handler is stopped after one RBR read
            Machine r = restore(save(m, () -> { }), ioApic, m);
            r.received.append(m.received);
            r.handle();
            assertEquals(0, r.runGuest(), "all read in the one interrupt");
            assertEquals("0123456789abcdefghijklmnopqrstuvwxyz\n", r.received.toString());
            answersTypedLines(r);
        }
    }

    @Test
    void inputBetweenTheDeviceAndThePlatformRecordsDoesNotSilenceTheRestoredConsole() throws IOException {
        for (boolean ioApic : new boolean[] {true, false}) {
            Machine m = booted(ioApic);
            // console input lands while the save runs: after the UART's record, before the controllers'
            Image image = save(m, () -> m.type("lost?"));
            assertTrue(m.cpu.interruptPending(), "the original took the byte's edge");
            Machine r = restore(image, ioApic, m);
            r.runGuest(); // whatever the restored records hold is handled (the bytes typed into the old domain are its own)
            answersTypedLines(r);
            assertFalse(r.received.toString().contains("lost?"), "typed into the old domain after its UART was saved");
        }
    }
}
