package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.kbd.I8042;
import org.xenj.hvm.qemudm.internal.uart.Uart16550;

/**
 * qemu-dm's state record will come from save files and migration streams: mutated records (flipped,
 * inserted, deleted and truncated bytes) are refused with an IOException or read as a valid record
 * that restores into real devices — never any other exception, never a huge allocation.
 */
class StateRecordFuzzTest {

    @Test
    void mutatedRecordsAreRefusedOrRestoreCleanly() {
        Uart16550 uart = new Uart16550((d, o, l) -> { }, l -> { });
        uart.receive("some typed input\n".getBytes());
        uart.ioWrite(1, 1, 0x0f);
        I8042 kbc = new I8042(() -> { }, (i, l) -> { });
        kbc.ioWrite(4, 1, 0x20);
        byte[] good = new PcDevicesState(uart.saveState(), kbc.saveState(), new byte[0xc0], new byte[0xc0], 2).toBytes();
        SplittableRandom r = new SplittableRandom(Long.getLong("xenj.state.fuzz.seed", 0x57a7e));
        int rounds = Integer.getInteger("xenj.state.fuzz.iterations", 20_000);
        int refused = 0, read = 0, internal = 0;
        for (int i = 0; i < rounds; i++) {
            byte[] b = mutate(good, r);
            try {
                PcDevicesState s = PcDevicesState.fromBytes(b);
                new Uart16550((d, o, l) -> { }, l -> { }).restoreState(s.com1());
                new I8042(() -> { }, (x, l) -> { }).restoreState(s.kbc());
                read++;
            } catch (IOException e) {
                refused++;
            } catch (RuntimeException | Error e) {
                internal++;
                if (internal < 4) {
                    e.printStackTrace();
                }
            }
        }
        System.out.printf("[fuzz] qemu-dm state: %d mutated records: %d refused, %d read and restored, %d internal errors%n",
                rounds, refused, read, internal);
        assertEquals(0, internal, "only IOException may come out of a damaged record");
    }

    private static byte[] mutate(byte[] good, SplittableRandom r) {
        byte[] b = good.clone();
        switch (r.nextInt(4)) {
            case 0 -> {
                for (int k = 0, n = 1 + r.nextInt(4); k < n; k++) {
                    b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            case 2 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
            default -> { // a length field made huge
                int at = 8 + r.nextInt(b.length - 12);
                b[at] = (byte) 0x7f;
                b[at + 1] = (byte) 0xff;
            }
        }
        return b;
    }
}
