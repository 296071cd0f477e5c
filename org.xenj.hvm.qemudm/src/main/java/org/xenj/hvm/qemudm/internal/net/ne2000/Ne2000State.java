package org.xenj.hvm.qemudm.internal.net.ne2000;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * Every guest-visible bit of an {@link Ne2000}: the PROM and the 32 KiB of packet RAM (the receive
 * ring and the transmit buffer live there, not in guest RAM), PAR/MAR, the RTL8029's page-3 bytes,
 * CR (page, remote command, started, a transmission in flight — it goes out after a hand-over),
 * ISR/IMR, the ring and DMA registers, RCR/TCR/DCR, RSR/TSR and the three tally counters.
 * Versioned bytes; {@link #fromBytes} refuses another version or a damaged record.
 */
public record Ne2000State(byte[] prom, byte[] ram, byte[] par, byte[] mar, byte[] page3, int page, int remoteCommand,
        boolean stopped, boolean transmitting, int isr, int imr, int pstart, int pstop, int bnry, int curr, int tpsr, int tbcr,
        int rsar, int rbcr, int rcr, int tcr, int dcr, int rsr, int tsr, int[] tally) {

    /** "XJN2". */
    public static final int MAGIC = 0x584a4e32;
    public static final int VERSION = 1;

    public Ne2000State {
        prom = prom.clone();
        ram = ram.clone();
        par = par.clone();
        mar = mar.clone();
        page3 = page3.clone();
        tally = tally.clone();
        if (prom.length != 32 || ram.length != Ne2000.RAM_SIZE || par.length != 6 || mar.length != 8 || page3.length != 16
                || tally.length != 3) {
            throw new IllegalArgumentException("NE2000 state has the wrong shape");
        }
        if (page < 0 || page > 3 || remoteCommand < 0 || remoteCommand > 7) {
            throw new IllegalArgumentException("NE2000 CR is out of range");
        }
        for (int v : new int[] {isr, imr, pstart, pstop, bnry, curr, tpsr, rcr, tcr, dcr, rsr, tsr, tally[0], tally[1], tally[2]}) {
            if ((v & ~0xff) != 0) {
                throw new IllegalArgumentException("NE2000 registers are 8 bits");
            }
        }
        if ((tbcr | rsar | rbcr) >>> 16 != 0) {
            throw new IllegalArgumentException("NE2000 counters are 16 bits");
        }
    }

    @Override
    public byte[] prom() {
        return prom.clone();
    }

    @Override
    public byte[] ram() {
        return ram.clone();
    }

    @Override
    public byte[] par() {
        return par.clone();
    }

    @Override
    public byte[] mar() {
        return mar.clone();
    }

    @Override
    public byte[] page3() {
        return page3.clone();
    }

    @Override
    public int[] tally() {
        return tally.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(Ne2000.RAM_SIZE + 128);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.write(prom);
            out.write(ram);
            out.write(par);
            out.write(mar);
            out.write(page3);
            out.writeByte(page | remoteCommand << 2 | (stopped ? 0x20 : 0) | (transmitting ? 0x40 : 0));
            for (int v : new int[] {isr, imr, pstart, pstop, bnry, curr, tpsr, rcr, tcr, dcr, rsr, tsr, tally[0], tally[1], tally[2]}) {
                out.writeByte(v);
            }
            out.writeShort(tbcr);
            out.writeShort(rsar);
            out.writeShort(rbcr);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static Ne2000State fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not an NE2000 state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("NE2000 state version " + version + " is not supported (this qemu-dm reads " + VERSION + ")");
        }
        byte[] prom = in.readNBytes(32);
        byte[] ram = in.readNBytes(Ne2000.RAM_SIZE);
        byte[] par = in.readNBytes(6);
        byte[] mar = in.readNBytes(8);
        byte[] page3 = in.readNBytes(16);
        int cr = in.readUnsignedByte();
        int[] v = new int[15];
        for (int i = 0; i < v.length; i++) {
            v[i] = in.readUnsignedByte();
        }
        int tbcr = in.readUnsignedShort(), rsar = in.readUnsignedShort(), rbcr = in.readUnsignedShort();
        if (in.read() != -1 || (cr & 0x80) != 0) {
            throw new IOException("NE2000 state record has the wrong length");
        }
        try {
            return new Ne2000State(prom, ram, par, mar, page3, cr & 3, (cr >> 2) & 7, (cr & 0x20) != 0, (cr & 0x40) != 0, v[0], v[1],
                    v[2], v[3], v[4], v[5], v[6], tbcr, rsar, rbcr, v[7], v[8], v[9], v[10], v[11], new int[] {v[12], v[13], v[14]});
        } catch (IllegalArgumentException e) {
            throw new IOException("NE2000 state record is damaged: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Ne2000State s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
