package org.xenj.hvm.qemudm.internal.pci;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * PCI configuration mechanism #1: CONFIG_ADDRESS at 0xCF8 (enable bit 31, bus, device, function,
 * register) and CONFIG_DATA at 0xCFC-0xCFF. Bus 0 only; absent functions read all ones. Map it
 * at 0xCF8 with 8 ports.
 */
public final class PciHostBridge implements IoHandler {

    public static final int BASE = 0xcf8;
    private final PciFunction[] bus0 = new PciFunction[32 * 8];
    private int address;

    public void add(int device, int function, PciFunction f) {
        bus0[device << 3 | function] = f;
    }

    public synchronized void reset() {
        address = 0;
        for (PciFunction f : bus0) {
            if (f != null) {
                f.reset();
            }
        }
    }

    private PciFunction selected() {
        if ((address & 0x80000000) == 0 || (address >>> 16 & 0xff) != 0) {
            return null;
        }
        return bus0[address >>> 8 & 0xff];
    }

    @Override
    public synchronized int ioRead(int offset, int size) {
        if (offset < 4) {
            // Only dword accesses reach CONFIG_ADDRESS on a PCI host; narrower ones read it bytewise.
            return offset == 0 && size == 4 ? address : address >>> (8 * offset);
        }
        PciFunction f = selected();
        if (f == null) {
            return -1;
        }
        return f.read((address & 0xfc) + (offset - 4), size);
    }

    @Override
    public synchronized void ioWrite(int offset, int size, int value) {
        if (offset < 4) {
            if (offset == 0 && size == 4) {
                address = value & 0x80fffffc;
            }
            return; // byte writes to 0xCFB (mechanism-#2 probing) do not change the address
        }
        PciFunction f = selected();
        if (f != null) {
            f.write((address & 0xfc) + (offset - 4), size, value);
        }
    }
}
