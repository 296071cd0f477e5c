package org.xenj.hvm.qemudm.internal.net;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The emulated NICs of one domain, in the order of its vif entries: each one's model and its own
 * record ({@code Rtl8139State}/{@code Ne2000State} bytes, each versioned). Versioned bytes;
 * {@link #fromBytes} refuses another version or a damaged record.
 */
public record NicsState(List<Entry> nics) {

    /** "XJNI". */
    public static final int MAGIC = 0x584a4e49;
    public static final int VERSION = 1;
    static final int MAX_NICS = 16;
    static final int MAX_RECORD = 1 << 20;

    public record Entry(String model, byte[] state) {
        public Entry {
            state = state.clone();
        }

        @Override
        public byte[] state() {
            return state.clone();
        }
    }

    public NicsState {
        nics = List.copyOf(nics);
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(1024);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeByte(nics.size());
            for (Entry e : nics) {
                out.writeUTF(e.model());
                out.writeInt(e.state.length);
                out.write(e.state);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static NicsState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not an emulated NIC state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("NIC state version " + version + " is not supported (this qemu-dm reads " + VERSION + ")");
        }
        int n = in.readUnsignedByte();
        if (n > MAX_NICS) {
            throw new IOException("NIC state record is damaged (" + n + " NICs)");
        }
        List<Entry> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String model = in.readUTF();
            int len = in.readInt();
            if (len < 0 || len > Math.min(MAX_RECORD, bytes.length)) {
                throw new IOException("NIC state record is damaged (part of " + len + " bytes)");
            }
            byte[] s = in.readNBytes(len);
            if (s.length != len) {
                throw new IOException("NIC state record is cut short");
            }
            validate(model, s);
            list.add(new Entry(model, s));
        }
        if (in.read() != -1) {
            throw new IOException("NIC state record has the wrong length");
        }
        return new NicsState(list);
    }

    /** Each entry must be a record its model's device reads: a damaged part refuses the whole record. */
    private static void validate(String model, byte[] s) throws IOException {
        switch (model) {
            case NicSpec.RTL8139 -> org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139State.fromBytes(s);
            case NicSpec.NE2K_PCI -> org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000State.fromBytes(s);
            default -> throw new IOException("NIC state record names an unknown model '" + model + "'");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NicsState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
