package org.xenj.hvm.qemudm.internal.net.rtl8139;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * Every guest-visible bit of an {@link Rtl8139}: IDR, MAR, the four transmit descriptors, the ring
 * address and both ring pointers, IMR/ISR, TCR/RCR, the missed-packet counter, 9346CR and the
 * EEPROM (its 64 words and where a half-clocked command stands), the PHY's BMCR, the store-only
 * registers, and which descriptors were handed to the NIC but not yet sent (they go out after a
 * hand-over, round-robin from {@code txNext} as before). The receive ring itself is in guest RAM. Versioned bytes; {@link #fromBytes} refuses
 * another version or a damaged record.
 */
public record Rtl8139State(byte[] mac, byte[] mar, int[] tsd, int[] tsad, int rbstart, int cr, int readPointer, int cbr,
        int imr, int isr, int tcr, int rcr, int missed, int cfg9346, int bmcr, byte[] latches, int txPending, int txNext, int[] eepromWords,
        int eepromPhase, int eepromShift, int eepromBits, int eepromAddress, boolean eepromDataOut, boolean eepromWriteEnabled,
        boolean eepromChipSelect, boolean eepromClock) {

    /** "XJR8". */
    public static final int MAGIC = 0x584a5238;
    public static final int VERSION = 1;

    public Rtl8139State {
        mac = mac.clone();
        mar = mar.clone();
        tsd = tsd.clone();
        tsad = tsad.clone();
        latches = latches.clone();
        eepromWords = eepromWords.clone();
        if (mac.length != 6 || mar.length != 8 || tsd.length != 4 || tsad.length != 4 || latches.length != Rtl8139.REGISTERS
                || eepromWords.length != Eeprom93c46.WORDS) {
            throw new IllegalArgumentException("RTL8139 state has the wrong shape");
        }
        if ((txPending & ~0xf) != 0 || (txNext & ~3) != 0 || eepromPhase < 0 || eepromPhase > Eeprom93c46.WRITING || eepromBits < 0 || eepromBits > 16
                || eepromAddress < 0 || eepromAddress >= Eeprom93c46.WORDS || (readPointer & ~0xffff) != 0
                || (cbr & ~0xffff) != 0) {
            throw new IllegalArgumentException("RTL8139 state is out of range");
        }
        for (int w : eepromWords) {
            if ((w & ~0xffff) != 0) {
                throw new IllegalArgumentException("RTL8139 EEPROM words are 16 bits");
            }
        }
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    @Override
    public byte[] mar() {
        return mar.clone();
    }

    @Override
    public int[] tsd() {
        return tsd.clone();
    }

    @Override
    public int[] tsad() {
        return tsad.clone();
    }

    @Override
    public byte[] latches() {
        return latches.clone();
    }

    @Override
    public int[] eepromWords() {
        return eepromWords.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(512);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.write(mac);
            out.write(mar);
            for (int i = 0; i < 4; i++) {
                out.writeInt(tsd[i]);
                out.writeInt(tsad[i]);
            }
            for (int v : new int[] {rbstart, cr, readPointer, cbr, imr, isr, tcr, rcr, missed, cfg9346, bmcr, txPending, txNext}) {
                out.writeInt(v);
            }
            out.write(latches);
            for (int w : eepromWords) {
                out.writeShort(w);
            }
            out.writeByte(eepromPhase);
            out.writeInt(eepromShift);
            out.writeByte(eepromBits);
            out.writeByte(eepromAddress);
            out.writeByte((eepromDataOut ? 1 : 0) | (eepromWriteEnabled ? 2 : 0) | (eepromChipSelect ? 4 : 0) | (eepromClock ? 8 : 0));
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static Rtl8139State fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not an RTL8139 state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("RTL8139 state version " + version + " is not supported (this qemu-dm reads " + VERSION + ")");
        }
        byte[] mac = in.readNBytes(6);
        byte[] mar = in.readNBytes(8);
        int[] tsd = new int[4], tsad = new int[4];
        for (int i = 0; i < 4; i++) {
            tsd[i] = in.readInt();
            tsad[i] = in.readInt();
        }
        int[] v = new int[13];
        for (int i = 0; i < v.length; i++) {
            v[i] = in.readInt();
        }
        byte[] latches = in.readNBytes(Rtl8139.REGISTERS);
        int[] words = new int[Eeprom93c46.WORDS];
        for (int i = 0; i < words.length; i++) {
            words[i] = in.readUnsignedShort();
        }
        int phase = in.readUnsignedByte();
        int shift = in.readInt();
        int bits = in.readUnsignedByte();
        int address = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        if (latches.length != Rtl8139.REGISTERS || in.read() != -1 || (flags & ~0xf) != 0) {
            throw new IOException("RTL8139 state record has the wrong length");
        }
        try {
            return new Rtl8139State(mac, mar, tsd, tsad, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10],
                    latches, v[11], v[12], words, phase, shift, bits, address, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0,
                    (flags & 8) != 0);
        } catch (IllegalArgumentException e) {
            throw new IOException("RTL8139 state record is damaged: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Rtl8139State s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
