package org.xenj.hvm.qemudm.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

import org.xenj.hvm.qemudm.internal.ide.IdeState;
import org.xenj.hvm.qemudm.internal.kbd.I8042State;
import org.xenj.hvm.qemudm.internal.net.NicsState;
import org.xenj.hvm.qemudm.internal.uart.UartState;
import org.xenj.hvm.qemudm.internal.vga.StdVgaState;

/**
 * One domain's qemu-dm devices, each by its own typed record: COM1, the 8042, the i440FX's and the
 * PIIX3's device-specific configuration (the standard PCI headers are the platform's), and port
 * 0x92, the emulated NICs, and the PIIX3 IDE function when the domain has one ({@code ide} null
 * otherwise), and the stdvga when the domain has one (version 3). Version 2 added NICs and IDE; a version-1 record reads as "no NICs, no IDE". What a
 * bundle update hands to the next qemu-dm and what save/restore writes. Versioned; {@link #fromBytes}
 * refuses an unknown version or a damaged record.
 */
public record PcDevicesState(UartState com1, I8042State kbc, byte[] hostBridgeConfig, byte[] isaBridgeConfig, int port92,
        NicsState nics, IdeState ide, StdVgaState vga) {

    /** "XJQD". */
    public static final int MAGIC = 0x584a5144;
    /** Version 3 added the stdvga ({@code vga} null when the domain has none or the record is older). */
    public static final int VERSION = 3;

    /** A record without a VGA (version 2's contents). */
    public PcDevicesState(UartState com1, I8042State kbc, byte[] hostBridgeConfig, byte[] isaBridgeConfig, int port92,
            NicsState nics, IdeState ide) {
        this(com1, kbc, hostBridgeConfig, isaBridgeConfig, port92, nics, ide, null);
    }

    /** A record without NICs or IDE (version 1's contents). */
    public PcDevicesState(UartState com1, I8042State kbc, byte[] hostBridgeConfig, byte[] isaBridgeConfig, int port92) {
        this(com1, kbc, hostBridgeConfig, isaBridgeConfig, port92, new NicsState(java.util.List.of()), null, null);
    }

    public PcDevicesState {
        hostBridgeConfig = hostBridgeConfig.clone();
        isaBridgeConfig = isaBridgeConfig.clone();
        if (hostBridgeConfig.length != 0xc0 || isaBridgeConfig.length != 0xc0) {
            throw new IllegalArgumentException("bridge configuration must be 192 bytes");
        }
    }

    @Override
    public byte[] hostBridgeConfig() {
        return hostBridgeConfig.clone();
    }

    @Override
    public byte[] isaBridgeConfig() {
        return isaBridgeConfig.clone();
    }

    public byte[] toBytes() {
        byte[] u = com1.toBytes(), k = kbc.toBytes(), n = nics.toBytes();
        byte[] i = ide == null ? new byte[0] : ide.toBytes();
        byte[] g = vga == null ? new byte[0] : vga.toBytes();
        // sized up front: with the VGA's memory the record is ≈ 200 KB, and a growing buffer copied it
        // over and over (in a live migration's pause)
        ByteArrayOutputStream b = new ByteArrayOutputStream(8 + 5 * 4 + u.length + k.length + 2 * 0xc0 + 1 + n.length + i.length + g.length);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(u.length);
            out.write(u);
            out.writeInt(k.length);
            out.write(k);
            out.write(hostBridgeConfig);
            out.write(isaBridgeConfig);
            out.writeByte(port92);
            out.writeInt(n.length);
            out.write(n);
            out.writeInt(i.length);
            out.write(i);
            out.writeInt(g.length);
            out.write(g);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static PcDevicesState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not a qemu-dm state record");
        }
        int version = in.readInt();
        if (version < 1 || version > VERSION) {
            throw new IOException("qemu-dm state version " + version + " is not supported (this qemu-dm reads " + VERSION + ")");
        }
        UartState com1 = UartState.fromBytes(part(in, bytes.length));
        I8042State kbc = I8042State.fromBytes(part(in, bytes.length));
        byte[] host = in.readNBytes(0xc0);
        byte[] isa = in.readNBytes(0xc0);
        int p92 = in.read();
        if (host.length != 0xc0 || isa.length != 0xc0 || p92 < 0) {
            throw new IOException("qemu-dm state record has the wrong length");
        }
        NicsState nics = new NicsState(java.util.List.of());
        IdeState ide = null;
        if (version >= 2) {
            nics = NicsState.fromBytes(part(in, bytes.length));
            byte[] i = part(in, bytes.length);
            ide = i.length == 0 ? null : IdeState.fromBytes(i);
        }
        StdVgaState vga = null;
        if (version >= 3) {
            byte[] g = part(in, bytes.length);
            vga = g.length == 0 ? null : StdVgaState.fromBytes(g);
        }
        if (in.read() != -1) {
            throw new IOException("qemu-dm state record has the wrong length");
        }
        return new PcDevicesState(com1, kbc, host, isa, p92, nics, ide, vga);
    }

    private static byte[] part(DataInputStream in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new IOException("qemu-dm state record is damaged (part of " + n + " bytes)");
        }
        byte[] p = in.readNBytes(n);
        if (p.length != n) {
            throw new IOException("qemu-dm state record is cut short");
        }
        return p;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PcDevicesState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
