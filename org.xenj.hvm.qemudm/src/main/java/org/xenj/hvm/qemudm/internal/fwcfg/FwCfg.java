package org.xenj.hvm.qemudm.internal.fwcfg;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * QEMU's firmware configuration device ("fw_cfg") on its x86 I/O ports: a 16-bit write to 0x510
 * selects an item and rewinds it, each byte read from 0x511 returns the next byte of the item (0
 * past its end or for an unknown key). The traditional interface only: the ID item says so (bit 0,
 * no DMA bit), and SeaBIOS then reads with {@code insb} — its items are small (a few hundred bytes at
 * boot), so the DMA interface at 0x514 is not needed. Writes to the data port are ignored, as in
 * QEMU since 2.4. Port accesses only move the read position: nothing runs off the vCPU thread.
 */
public final class FwCfg implements IoHandler {

    public static final int PORT = 0x510;
    public static final int PORTS = 2;
    /** Key bits QEMU ignores when choosing the item: 0x4000 (write channel) is never granted here. */
    static final int KEY_MASK = 0xbfff;

    private final FwCfgItems items;
    private int selector;
    private int offset;
    private byte[] current;

    public FwCfg(FwCfgItems items) {
        this.items = items;
        select(0);
    }

    private void select(int key) {
        selector = key & 0xffff;
        offset = 0;
        current = items.item(selector & KEY_MASK);
    }

    @Override
    public synchronized int ioRead(int port, int size) {
        if (port == 1) {
            int v = 0;
            for (int i = 0; i < size; i++) {
                v |= nextByte() << (8 * i);
            }
            return v;
        }
        return size == 1 ? 0xff : (size == 2 ? 0xffff : -1);
    }

    private int nextByte() {
        byte[] c = current;
        if (c == null || offset >= c.length) {
            return 0;
        }
        return c[offset++] & 0xff;
    }

    @Override
    public synchronized void ioWrite(int port, int size, int value) {
        if (port == 0 && size >= 2) {
            select(value & 0xffff);
        } else if (port == 0) {
            select(value & 0xff); // a byte write selects the low byte's key
        }
        // data port writes: ignored (no write channel)
    }

    public synchronized FwCfgState saveState() {
        return new FwCfgState(selector, offset);
    }

    public synchronized void restoreState(FwCfgState s) {
        select(s.selector());
        offset = Math.max(0, s.offset());
    }
}
