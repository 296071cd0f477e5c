package org.xenj.hvm.qemudm.internal.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;

/** The FCS against java.util.zip.CRC32 and the multicast bin against Linux's ether_crc written out bit by bit. */
class EthernetFilterTest {

    @Test
    void fcsIsTheIeeeCrc() {
        SplittableRandom r = new SplittableRandom(7);
        for (int n = 0; n < 200; n++) {
            byte[] b = new byte[r.nextInt(1, 1600)];
            r.nextBytes(b);
            CRC32 c = new CRC32();
            c.update(b);
            assertEquals((int) c.getValue(), EthernetFilter.fcs(b, 0, b.length));
        }
    }

    @Test
    void multicastBinIsTheTopSixBitsOfEtherCrc() {
        SplittableRandom r = new SplittableRandom(11);
        for (int n = 0; n < 1000; n++) {
            byte[] a = new byte[6];
            r.nextBytes(a);
            assertEquals(TestBus.etherCrc(a, 0, 6) >>> 26, EthernetFilter.hashBin(a, 0));
        }
        // 01:00:5e:00:00:01 (all-hosts) as a known point
        byte[] allHosts = {1, 0, 0x5e, 0, 0, 1};
        assertEquals(TestBus.etherCrc(allHosts, 0, 6) >>> 26, EthernetFilter.hashBin(allHosts, 0));
    }
}
