package org.xenj.dom0.vswitch.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The one reading of an xl vif entry that netback and qemu-dm share. */
class VifSpecTest {

    @Test
    void keysDefaultsAndTheDerivedAddress() {
        VifSpec d = VifSpec.parse("", "web", 0);
        assertEquals("xenbr0", d.bridge());
        assertEquals(1500, d.mtu());
        assertEquals(VifSpec.RTL8139, d.model());
        assertTrue(d.emulated());
        assertEquals(0x00163eL, d.mac() >>> 24, "Xen's OUI");
        assertEquals(d.mac(), VifSpec.parse("bridge=xenbr0", "web", 0).mac(), "stable across restarts");
        VifSpec v = VifSpec.parse("'mac=00:16:3e:0a:0b:0c, bridge=br1, model=NE2K_PCI, type=vif, mtu=9000, script=x'", "db", 3);
        assertEquals("00:16:3e:0a:0b:0c", v.macText());
        assertArrayEquals(new byte[] {0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c}, v.macBytes());
        assertEquals("br1", v.bridge());
        assertEquals(VifSpec.NE2K_PCI, v.model());
        assertFalse(v.emulated(), "type=vif: the PV device alone");
        assertEquals(9018, v.maxFrame());
    }

    @Test
    void badEntriesSayWhatIsWrong() {
        for (String bad : new String[] {"mac=01:00:5e:00:00:01", "mac=00:00:00:00:00:00", "mac=zz", "bridge=a b", "mtu=10", "mtu=x",
            "novalue"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VifSpec.parse(bad, "x", 0), bad);
            assertTrue(e.getMessage().contains(bad.contains("=") ? bad.substring(0, bad.indexOf('=')) : bad), e.getMessage());
        }
    }
}
