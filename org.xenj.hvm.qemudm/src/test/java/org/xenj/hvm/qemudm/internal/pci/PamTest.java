package org.xenj.hvm.qemudm.internal.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The i440FX PAM registers as SeaBIOS programs them (src/fw/shadow.c, dword writes at 0x58 and
 * 0x5C): 0x30/0x33 make the shadow RAM writable, 0x10/0x11 write-protect it; each 16 KiB block
 * (64 KiB for PAM0) is reported with its write enable.
 */
class PamTest {

    record Call(long base, long size, boolean writable) {
    }

    @Test
    void seaBiosShadowSequenceReachesThePlatformBlockByBlock() {
        List<Call> calls = new ArrayList<>();
        I440fx nb = new I440fx((b, s, w) -> calls.add(new Call(b, s, w)));
        nb.configWrite(0x58, 4, 0x33333000); // PAM0 = 0x30, PAM1-2 = 0x33 (byte 0x58 is not PAM)
        assertEquals(List.of(new Call(0xf0000, 0x10000, true), new Call(0xc0000, 0x4000, true),
                new Call(0xc4000, 0x4000, true), new Call(0xc8000, 0x4000, true), new Call(0xcc000, 0x4000, true)), calls);
        assertEquals(0x30, nb.configRead(0x59, 1));
        calls.clear();
        nb.configWrite(0x5c, 4, 0x11111131); // PAM3 = 0x31: low block read-only, high block writable; the rest read-only
        assertEquals(List.of(new Call(0xd0000, 0x4000, false), new Call(0xd4000, 0x4000, true),
                new Call(0xd8000, 0x4000, false), new Call(0xdc000, 0x4000, false), new Call(0xe0000, 0x4000, false),
                new Call(0xe4000, 0x4000, false), new Call(0xe8000, 0x4000, false), new Call(0xec000, 0x4000, false)), calls);
        calls.clear();
        nb.configWrite(0x59, 1, 0xff);
        assertEquals(0x30, nb.configRead(0x59, 1), "PAM0 bits 3:0 and 7:6 are reserved");
        nb.configWrite(0x59, 1, 0x10);
        assertEquals(new Call(0xf0000, 0x10000, false), calls.get(calls.size() - 1), "0x10: write-protected");
        calls.clear();
        nb.reset();
        assertEquals(13, calls.size(), "a reset reports every block");
        assertEquals(0, calls.stream().filter(Call::writable).count(), "power-on: nothing writable");
    }
}
