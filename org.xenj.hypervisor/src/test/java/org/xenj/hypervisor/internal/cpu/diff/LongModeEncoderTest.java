package org.xenj.hypervisor.internal.cpu.diff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The long-mode rewrite: what it refuses, what it adds, and how addresses map back. */
class LongModeEncoderTest {

    private static byte[] b(int... v) {
        return DiffCase.bytes(v);
    }

    @Test
    void refusesWhatLongModeChanges() {
        assertNull(LongModeEncoder.encode(b(0x40)), "INC EAX is a REX prefix in long mode");
        assertNull(LongModeEncoder.encode(b(0x27)), "DAA is invalid in long mode");
        assertNull(LongModeEncoder.encode(b(0x50)), "PUSH uses a 64-bit stack");
        assertNull(LongModeEncoder.encode(b(0x60)), "PUSHA is invalid in long mode");
        assertNull(LongModeEncoder.encode(b(0x8E, 0xD8)), "segment loads differ");
        assertNull(LongModeEncoder.encode(b(0xFF, 0xD0)), "CALL r/m is 64-bit");
        assertNull(LongModeEncoder.encode(b(0x3E, 0x8B, 0x05, 0, 0, 0, 0x20)), "segment overrides");
        assertNull(LongModeEncoder.encode(b(0xE8, 0, 0, 0, 0)), "CALL rel32 pushes 8 bytes");
        assertNull(LongModeEncoder.encode(b(0x8D, 0xC0)), "LEA needs a memory operand");
        assertNull(LongModeEncoder.encode(b(0x01)), "a truncated instruction");
        assertNull(LongModeEncoder.encode(b(0xD9, 0x30)), "FNSTENV to an address only known at run time");
    }

    @Test
    void registerFormsStayAsTheyAre() {
        byte[] code = b(0x66, 0x01, 0xC8, 0x0F, 0xAF, 0xC1, 0xD3, 0xE0);
        assertArrayEquals(code, LongModeEncoder.encode(code).code);
    }

    @Test
    void absoluteOperandGoesThroughSibWith32BitAddresses() {
        LongModeEncoder.Encoded e = LongModeEncoder.encode(b(0x01, 0x05, 0x80, 0, 0, 0x20));
        assertArrayEquals(b(0x67, 0x01, 0x04, 0x25, 0x80, 0, 0, 0x20), e.code);
        assertArrayEquals(new int[] {0, 6}, e.starts32);
        assertArrayEquals(new int[] {0, 8}, e.starts64);
        assertEquals(0x1000_0006, e.mapBack(0x1000_0008, 0x1000_0000));
        assertEquals(0x005, e.mapFop(0x004, 0x1000_0000, 0x1000_0000), "FOP holds the original ModRM");
    }

    @Test
    void stringLoopXlatAndMoffsGetAddressSizePrefix() {
        assertArrayEquals(b(0xF3, 0x67, 0xA4), LongModeEncoder.encode(b(0xF3, 0xA4)).code);
        assertArrayEquals(b(0x67, 0xD7), LongModeEncoder.encode(b(0xD7)).code);
        assertArrayEquals(b(0x66, 0x67, 0xA1, 1, 2, 3, 4), LongModeEncoder.encode(b(0x66, 0xA1, 1, 2, 3, 4)).code);
    }

    @Test
    void branchesKeepTheirTargets() {
        // LOOP over an ADD [abs],EAX that grows by two bytes: the displacement follows it
        LongModeEncoder.Encoded e = LongModeEncoder.encode(b(0xE2, 6, 0x01, 0x05, 0x80, 0, 0, 0x20, 0xFF, 0xC0));
        assertNotNull(e);
        assertArrayEquals(b(0x67, 0xE2, 8, 0x67, 0x01, 0x04, 0x25, 0x80, 0, 0, 0x20, 0xFF, 0xC0), e.code);
        assertNull(LongModeEncoder.encode(b(0xEB, 1, 0xFF, 0xC0)), "a jump into the middle of an instruction");
    }

    @Test
    void recordsStoredX87Environments() {
        LongModeEncoder.Encoded e = LongModeEncoder.encode(b(0x66, 0xD9, 0x35, 0x70, 0, 0, 0x20, 0xDD, 0x35, 0, 1, 0, 0x20));
        assertEquals(2, e.envStores.size());
        assertArrayEquals(new int[] {0x2000_0070, 1}, e.envStores.get(0));
        assertArrayEquals(new int[] {0x2000_0100, 0}, e.envStores.get(1));
        // the same image stored twice is mapped once, in the format of the last store
        e = LongModeEncoder.encode(b(0x66, 0xD9, 0x35, 0x70, 0, 0, 0x20, 0xDD, 0x35, 0x70, 0, 0, 0x20));
        assertEquals(1, e.envStores.size());
        assertArrayEquals(new int[] {0x2000_0070, 0}, e.envStores.get(0));
        assertNull(LongModeEncoder.encode(b(0xDD, 0x35, 0x70, 0, 0, 0x20, 0xDD, 0x35, 0x80, 0, 0, 0x20)), "overlapping images");
    }
}
