package org.xenj.hypervisor.internal.save;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** The PV_DOMAIN record: round trip, and every kind of damage refused by {@link PvDomainState#fromBytes} with a reason. */
class PvDomainStateTest {

    static PvDomainState sample() {
        int[] p2m = new int[64];
        for (int i = 0; i < p2m.length; i++) {
            p2m[i] = 1000 + 63 - i;
        }
        int[] gdt = new int[16];
        gdt[0] = 1010;
        PvDomainState.Vcpu v0 = new PvDomainState.Vcpu(new int[] {0, 0xe019, 0x3000, 0, 14, 0xe019, 0x3100, 4}, 0xe019, 0x2000, 0xe019,
                0x2100, true, 0, 0xe021, 0x9ff0, gdt, 128, 0, 0, 1001L << 12, false, true, true, false, 123_456_789L, 0, 0);
        PvDomainState.Vcpu v1 = new PvDomainState.Vcpu(new int[0], 0, 0, 0, 0, false, 0, 0, 0, new int[16], 0, 0, 0, 0, false, false, false,
                false, 0, 0, (1002L << 12) + 64);
        int[] types = {1001, 3, 1, 0, 0, 1, 1003, 2, 1, 0, 1, 2, 1004, 1, 1, 0, 3, 0};
        int[] m2p = {1000, 63, 1063, 0, 2000, -1};
        return new PvDomainState(p2m, new int[] {2000, 2001, 2002}, 2000, 1005, 1, 1006, 2, 1, 64, 80, List.of(v0, v1), types, m2p,
                List.of(new PvDomainState.Watch("control/shutdown", "control/shutdown", true), new PvDomainState.Watch("@releaseDomain", "r", false)));
    }

    @Test
    void roundTripKeepsEveryField() throws Exception {
        PvDomainState s = sample();
        PvDomainState r = PvDomainState.fromBytes(s.toBytes());
        assertArrayEquals(s.toBytes(), r.toBytes());
        assertArrayEquals(s.p2m(), r.p2m());
        assertArrayEquals(s.vcpus().get(0).traps(), r.vcpus().get(0).traps());
        assertEquals(s.vcpus().get(0).timerDeadline(), r.vcpus().get(0).timerDeadline());
        assertEquals(s.vcpus().get(1).vcpuInfoMa(), r.vcpus().get(1).vcpuInfoMa());
        assertArrayEquals(s.pageTypes(), r.pageTypes());
        assertEquals(s.watches(), r.watches());
        assertEquals(67, r.allFrames().length);
    }

    @Test
    void damageIsRefusedWithAReason() {
        byte[] good = sample().toBytes();
        // every truncation, a trailing byte, another magic, version 2
        for (int n = 0; n < good.length; n++) {
            byte[] cut = Arrays.copyOf(good, n);
            assertThrows(SaveFormatException.class, () -> PvDomainState.fromBytes(cut), "cut to " + n);
        }
        assertThrows(SaveFormatException.class, () -> PvDomainState.fromBytes(Arrays.copyOf(good, good.length + 1)));
        byte[] magic = good.clone();
        magic[0] ^= 1;
        assertTrue(assertThrows(SaveFormatException.class, () -> PvDomainState.fromBytes(magic)).getMessage().contains("XJPV"));
        byte[] v2 = good.clone();
        v2[7] = 2;
        assertTrue(assertThrows(SaveFormatException.class, () -> PvDomainState.fromBytes(v2)).getMessage().contains("version 2"));
    }

    @Test
    void invalidValuesAreRefused() {
        PvDomainState s = sample();
        PvDomainState.Vcpu v = s.vcpus().get(0);
        // a frame twice, shared_info not a hypervisor frame, console ring outside the RAM, ports out of range or equal
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState(s.p2m(), new int[] {1000}, 1000, 1005, 1, 1006, 2, 0, 64, 80,
                s.vcpus(), new int[0], new int[0], List.of()));
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState(s.p2m(), new int[] {2000}, 1001, 1005, 1, 1006, 2, 0, 64, 80,
                s.vcpus(), new int[0], new int[0], List.of()));
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState(s.p2m(), new int[] {2000}, 2000, 2000, 1, 1006, 2, 0, 64, 80,
                s.vcpus(), new int[0], new int[0], List.of()));
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState(s.p2m(), new int[] {2000}, 2000, 1005, 4096, 1006, 2, 0, 64, 80,
                s.vcpus(), new int[0], new int[0], List.of()));
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState(s.p2m(), new int[] {2000}, 2000, 1005, 2, 1006, 2, 0, 64, 80,
                s.vcpus(), new int[0], new int[0], List.of()));
        // a page type 6, negative counts, rows out of order; an M2P entry of a frame not the domain's
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState(s.p2m(), new int[] {2000}, 2000, 1005, 1, 1006, 2, 0, 64, 80,
                s.vcpus(), new int[] {1001, 6, 0, 0, 0, 0}, new int[0], List.of()));
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState(s.p2m(), new int[] {2000}, 2000, 1005, 1, 1006, 2, 0, 64, 80,
                s.vcpus(), new int[] {1002, 1, 0, 0, 0, 0, 1001, 1, 0, 0, 0, 0}, new int[0], List.of()));
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState(s.p2m(), new int[] {2000}, 2000, 1005, 1, 1006, 2, 0, 64, 80,
                s.vcpus(), new int[0], new int[] {5, 1}, List.of()));
        // a trap vector twice or past 255
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState.Vcpu(new int[] {14, 1, 2, 0, 14, 1, 2, 0}, 0, 0, 0, 0, false, 0,
                0, 0, new int[16], 0, 0, 0, 0, false, true, true, false, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new PvDomainState.Vcpu(new int[] {256, 1, 2, 0}, 0, 0, 0, 0, false, 0, 0, 0,
                new int[16], 0, 0, 0, 0, false, true, true, false, 0, 0, 0));
        assertNotNull(v);
    }

    @Test
    void fuzzedCopiesAreRefusedOrParseCleanly() {
        byte[] good = sample().toBytes();
        Random rnd = new Random(15);
        int refused = 0;
        for (int i = 0; i < 5000; i++) {
            byte[] b = good.clone();
            int flips = 1 + rnd.nextInt(4);
            for (int j = 0; j < flips; j++) {
                b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            try {
                PvDomainState.fromBytes(b);
            } catch (SaveFormatException e) {
                assertNotNull(e.getMessage());
                assertTrue(e.getMessage().contains("PV_DOMAIN"), e.getMessage());
                refused++;
            } catch (RuntimeException e) {
                fail("copy " + i + ": " + e, e);
            }
        }
        System.out.println("PV_DOMAIN fuzz: " + refused + " of 5000 refused, the rest parse (damage in free values: registers, addresses)");
        assertTrue(refused > 1000, "refused " + refused);
    }
}
