package org.xenj.hvm.qemudm.internal.fwcfg;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The fw_cfg device's guest-visible state: the selected key and the read position within it (the
 * items themselves are rebuilt from the domain's configuration). "XJFC" version 1.
 */
public record FwCfgState(int selector, int offset) {

    public static final int MAGIC = 0x584a4643;
    public static final int VERSION = 1;

    public byte[] toBytes() {
        return ByteBuffer.allocate(16).putInt(MAGIC).putInt(VERSION).putInt(selector).putInt(offset).array();
    }

    public static FwCfgState fromBytes(byte[] b) throws IOException {
        if (b.length != 16) {
            throw new IOException("fw_cfg state record has the wrong length (" + b.length + ")");
        }
        ByteBuffer in = ByteBuffer.wrap(b);
        if (in.getInt() != MAGIC || in.getInt() != VERSION) {
            throw new IOException("not a fw_cfg state record of version " + VERSION);
        }
        int selector = in.getInt();
        int offset = in.getInt();
        if (selector < 0 || selector > 0xffff || offset < 0) {
            throw new IOException("fw_cfg state record is damaged");
        }
        return new FwCfgState(selector, offset);
    }
}
