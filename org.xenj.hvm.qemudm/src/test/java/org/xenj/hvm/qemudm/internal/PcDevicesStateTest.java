package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.kbd.I8042;
import org.xenj.hvm.qemudm.internal.net.NicSpec;
import org.xenj.hvm.qemudm.internal.net.NicsState;
import org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139State;
import org.xenj.hvm.qemudm.internal.pci.I440fx;
import org.xenj.hvm.qemudm.internal.pci.Piix3;
import org.xenj.hvm.qemudm.internal.uart.Uart16550;

/** The whole qemu-dm record: every device's part survives the byte form; damage anywhere is refused. */
class PcDevicesStateTest {

    private static PcDevicesState sample() {
        Uart16550 uart = new Uart16550((d, o, l) -> { }, l -> { });
        uart.ioWrite(1, 1, 0x03);
        uart.receive("typed ahead\n".getBytes());
        I8042 kbc = new I8042(() -> { }, (i, l) -> { });
        kbc.ioWrite(4, 1, 0x20); // read the command byte: one byte waits in the output buffer
        Piix3 isa = new Piix3((l, i) -> { });
        isa.configWrite(0x60, 1, 0x0b);
        org.xenj.hvm.qemudm.internal.net.TestBus bus = new org.xenj.hvm.qemudm.internal.net.TestBus(4096);
        Rtl8139 rtl = new Rtl8139(new byte[] {0, 0x16, 0x3e, 1, 2, 3}, bus);
        rtl.write(0x44, 4, 0x0f); // RCR
        Ne2000 ne = new Ne2000(new byte[] {0, 0x16, 0x3e, 1, 2, 4}, bus);
        ne.write(0x0c, 1, 0x04);
        NicsState nics = new NicsState(java.util.List.of(new NicsState.Entry(NicSpec.RTL8139, rtl.saveState().toBytes()),
                new NicsState.Entry(NicSpec.NE2K_PCI, ne.saveState().toBytes())));
        return new PcDevicesState(uart.saveState(), kbc.saveState(), new I440fx().saveConfig(), isa.saveConfig(), 0x02, nics, null);
    }

    @Test
    void theRecordSurvivesItsByteForm() throws IOException {
        PcDevicesState s = sample();
        PcDevicesState back = PcDevicesState.fromBytes(s.toBytes());
        assertEquals(s, back);
        assertEquals("typed ahead\n".length(), back.com1().rx().length + back.com1().backlog().length, "typed bytes travel");
        assertEquals(1, back.kbc().queue().length, "the waiting output byte travels");
        assertEquals(0x0b, back.isaBridgeConfig()[0x60 - 0x40]);
        assertEquals(2, back.nics().nics().size(), "both NICs travel");
        assertEquals(0x0f, Rtl8139State.fromBytes(back.nics().nics().get(0).state()).rcr());
    }

    @Test
    void aVersionOneRecordReadsAsNoNicsAndNoIde() throws IOException {
        PcDevicesState s = sample();
        PcDevicesState v1 = new PcDevicesState(s.com1(), s.kbc(), s.hostBridgeConfig(), s.isaBridgeConfig(), s.port92());
        byte[] b = v1.toBytes();
        // version 2 appends the NICs' part and the IDE part, version 3 the VGA part (empty here): version 1 ends before them
        byte[] old = java.util.Arrays.copyOf(b, b.length - 4 - v1.nics().toBytes().length - 4 - 4);
        old[7] = 1;
        PcDevicesState back = PcDevicesState.fromBytes(old);
        assertEquals(0, back.nics().nics().size());
        assertEquals(null, back.ide());
        assertEquals(v1, back);
    }

    @Test
    void aVersionTwoRecordReadsAsNoVga() throws IOException {
        PcDevicesState s = sample();
        byte[] b = s.toBytes();
        byte[] old = java.util.Arrays.copyOf(b, b.length - 4); // version 3 appends the (empty) VGA part
        old[7] = 2;
        PcDevicesState back = PcDevicesState.fromBytes(old);
        assertEquals(null, back.vga());
        assertEquals(s, back);
    }

    @Test
    void damageIsRefused() {
        byte[] good = sample().toBytes();
        for (int at : new int[] {0, 7, 9, 12, good.length - 1}) {
            byte[] bad = good.clone();
            bad[at] ^= 0x5a;
            if (at == good.length - 1) {
                bad = java.util.Arrays.copyOf(good, good.length - 1);
            }
            byte[] b = bad;
            assertThrows(IOException.class, () -> PcDevicesState.fromBytes(b), "damage at " + at);
        }
        byte[] version = good.clone();
        version[7] = 7;
        assertTrue(assertThrows(IOException.class, () -> PcDevicesState.fromBytes(version)).getMessage().contains("version 7"));
    }
}
