package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.kbd.I8042;
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
        return new PcDevicesState(uart.saveState(), kbc.saveState(), new I440fx().saveConfig(), isa.saveConfig(), 0x02);
    }

    @Test
    void theRecordSurvivesItsByteForm() throws IOException {
        PcDevicesState s = sample();
        PcDevicesState back = PcDevicesState.fromBytes(s.toBytes());
        assertEquals(s, back);
        assertEquals("typed ahead\n".length(), back.com1().rx().length + back.com1().backlog().length, "typed bytes travel");
        assertEquals(1, back.kbc().queue().length, "the waiting output byte travels");
        assertEquals(0x0b, back.isaBridgeConfig()[0x60 - 0x40]);
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
        version[7] = 3;
        assertTrue(assertThrows(IOException.class, () -> PcDevicesState.fromBytes(version)).getMessage().contains("version 3"));
    }

    @Test
    void aVersion1RecordFromTheQemuDmBeforeIdeIsReadAsNoIde() throws IOException {
        byte[] v2 = sample().toBytes(); // no IDE: ends with a zero-length IDE part
        byte[] v1 = java.util.Arrays.copyOf(v2, v2.length - 4);
        v1[7] = 1;
        PcDevicesState s = PcDevicesState.fromBytes(v1);
        assertEquals(null, s.ide());
        assertEquals(sample(), s);
    }
}
