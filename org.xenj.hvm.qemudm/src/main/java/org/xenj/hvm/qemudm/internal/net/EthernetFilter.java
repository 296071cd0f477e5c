package org.xenj.hvm.qemudm.internal.net;

/**
 * Receive-address facts both emulated NICs share: the Ethernet CRC-32 (IEEE 802.3, bits in the
 * order they go on the wire) and the 64-bin multicast hash both the RTL8139 and the DP8390 index with
 * the CRC's top six bits.
 */
public final class EthernetFilter {

    /** The smallest frame on the wire, without its FCS: shorter frames arrive padded with zeros. */
    public static final int MIN_FRAME = 60;

    private static final int[] TABLE = new int[256];

    static {
        for (int n = 0; n < 256; n++) {
            int c = n;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
            }
            TABLE[n] = c;
        }
    }

    private EthernetFilter() {
    }

    /** The FCS of {@code len} bytes at {@code off}: the value a NIC appends least significant byte first. */
    public static int fcs(byte[] b, int off, int len) {
        int c = 0xffffffff;
        for (int i = 0; i < len; i++) {
            c = TABLE[(c ^ b[off + i]) & 0xff] ^ (c >>> 8);
        }
        return ~c;
    }

    /**
     * The multicast hash bin (0..63) of the address at {@code off}: the six most significant bits of
     * the CRC computed most-significant-bit first (Linux's {@code ether_crc}), i.e. the bit-reversed
     * low six bits of the wire-order CRC register.
     */
    public static int hashBin(byte[] frame, int off) {
        int c = 0xffffffff;
        for (int i = 0; i < 6; i++) {
            c = TABLE[(c ^ frame[off + i]) & 0xff] ^ (c >>> 8);
        }
        // wire-order register bit k is the MSB-first CRC's bit 31-k; bits 31..26 are register bits 0..5
        int bin = 0;
        for (int k = 0; k < 6; k++) {
            bin = (bin << 1) | ((c >>> k) & 1);
        }
        return bin;
    }

    /** Whether {@code mar} (8 bytes, bin n = byte n/8 bit n%8) has the bin of the address at {@code off}. */
    public static boolean multicastMatch(byte[] mar, byte[] frame, int off) {
        int bin = hashBin(frame, off);
        return (mar[bin >> 3] & (1 << (bin & 7))) != 0;
    }

    public static boolean isBroadcast(byte[] frame, int off) {
        for (int i = 0; i < 6; i++) {
            if (frame[off + i] != (byte) 0xff) {
                return false;
            }
        }
        return true;
    }

    public static boolean isGroup(byte[] frame, int off) {
        return (frame[off] & 1) != 0;
    }

    public static boolean sameAddress(byte[] frame, int off, byte[] mac) {
        for (int i = 0; i < 6; i++) {
            if (frame[off + i] != mac[i]) {
                return false;
            }
        }
        return true;
    }
}
