package org.xenj.hvm.qemudm.internal.net;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

import org.xenj.hypervisor.spi.GuestMemory;

/**
 * A NIC's world in unit tests: guest RAM as an array that counts (and refuses) every access outside
 * it, an executor whose tasks the test runs when it chooses, the INTx# line, and a link that keeps
 * what the NIC sent.
 */
public final class TestBus implements NicBus {

    public final Ram ram;
    public final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    public final List<byte[]> sent = new ArrayList<>();
    public boolean intx;
    public int intxChanges;
    public boolean busMaster = true;
    private final Executor executor = tasks::add;

    public TestBus(int ramBytes) {
        this.ram = new Ram(ramBytes);
    }

    public FrameLink link() {
        return (frame, length) -> {
            sent.add(java.util.Arrays.copyOf(frame, length));
            return true;
        };
    }

    /** Runs the NIC's queued work, as its executor thread would. */
    public int runTasks() {
        int n = 0;
        Runnable r;
        while ((r = tasks.poll()) != null) {
            r.run();
            n++;
        }
        return n;
    }

    @Override
    public GuestMemory memory() {
        return ram;
    }

    @Override
    public Executor executor() {
        return executor;
    }

    @Override
    public void setIntx(boolean asserted) {
        if (asserted != intx) {
            intxChanges++;
        }
        intx = asserted;
    }

    @Override
    public boolean busMaster() {
        return busMaster;
    }

    /** Guest RAM [0, size): an access outside throws, as the platform's does, and is counted. */
    public static final class Ram implements GuestMemory {
        public final byte[] bytes;
        public long outside;

        Ram(int size) {
            bytes = new byte[size];
        }

        private int at(long gpa, int len) {
            if (gpa < 0 || len < 0 || gpa + len > bytes.length) {
                outside++;
                throw new IndexOutOfBoundsException("gpa " + Long.toHexString(gpa) + "+" + len);
            }
            return (int) gpa;
        }

        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public boolean isRam(long gpa, int length) {
            return gpa >= 0 && length >= 0 && gpa + length <= bytes.length;
        }

        @Override
        public void read(long gpa, byte[] dst, int off, int len) {
            System.arraycopy(bytes, at(gpa, len), dst, off, len);
        }

        @Override
        public void write(long gpa, byte[] src, int off, int len) {
            System.arraycopy(src, off, bytes, at(gpa, len), len);
        }

        @Override
        public int read8(long gpa) {
            return bytes[at(gpa, 1)] & 0xff;
        }

        @Override
        public int read16(long gpa) {
            return read8(gpa) | read8(gpa + 1) << 8;
        }

        @Override
        public int read32(long gpa) {
            return read16(gpa) | read16(gpa + 2) << 16;
        }

        @Override
        public void write8(long gpa, int value) {
            bytes[at(gpa, 1)] = (byte) value;
        }

        @Override
        public void write16(long gpa, int value) {
            write8(gpa, value);
            write8(gpa + 1, value >> 8);
        }

        @Override
        public void write32(long gpa, int value) {
            write16(gpa, value);
            write16(gpa + 2, value >> 16);
        }
    }

    /** An Ethernet frame: destination, source, EtherType 0x0800, then {@code payload} bytes counting up from {@code seed}. */
    public static byte[] frame(byte[] dst, byte[] src, int payload, int seed) {
        byte[] f = new byte[14 + payload];
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = 0x08;
        for (int i = 0; i < payload; i++) {
            f[14 + i] = (byte) (seed + i);
        }
        return f;
    }

    public static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

    public static byte[] mac(int... b) {
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            m[i] = (byte) b[i];
        }
        return m;
    }

    /** Linux's ether_crc: the CRC-32 computed most significant bit first, data bits least significant first, no final inversion. */
    public static int etherCrc(byte[] data, int off, int len) {
        int crc = -1;
        for (int i = 0; i < len; i++) {
            int octet = data[off + i] & 0xff;
            for (int bit = 0; bit < 8; bit++, octet >>= 1) {
                crc = (crc << 1) ^ (((crc < 0 ? 1 : 0) ^ (octet & 1)) != 0 ? 0x04c11db7 : 0);
            }
        }
        return crc;
    }
}
