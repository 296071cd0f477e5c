package org.xenj.hypervisor.internal.domain;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * The tests' counter device ({@code counter-dm}) on port {@link #PORT}: its only state is the last
 * value its guest wrote, and every value must be that + 1 — so a save, restore, snapshot, revert,
 * hand-over or migration that loses or repeats device state or guest progress shows as an
 * {@link #error}. The guest is {@link #counterElf}.
 */
final class CounterDeviceModel implements DeviceModel {

    static final int PORT = 0x500;

    /** The newest value written by any domain (a migrated guest goes on in another domain). */
    final AtomicInteger last;
    /** The newest value per domain. */
    final Map<Integer, Integer> lastByDomain;
    /** The first broken sequence seen, or null. */
    final AtomicReference<String> error;

    CounterDeviceModel() {
        this.last = new AtomicInteger();
        this.lastByDomain = new ConcurrentHashMap<>();
        this.error = new AtomicReference<>();
    }

    /** Another service object (an updated bundle's model) that reports into the same counters. */
    CounterDeviceModel(CounterDeviceModel reportsWith) {
        this.last = reportsWith.last;
        this.lastByDomain = reportsWith.lastByDomain;
        this.error = reportsWith.error;
    }

    /** mov edx, 0x500; xor eax, eax; l: inc eax; mov [0x2000], eax; out dx, eax; jmp l. */
    static Path counterElf(Path dir, String name) throws java.io.IOException {
        return FlatElf.write(dir.resolve(name + ".elf"), new byte[] {(byte) 0xBA, 0x00, 0x05, 0x00, 0x00, 0x31, (byte) 0xC0, 0x40,
            (byte) 0xA3, 0x00, 0x20, 0x00, 0x00, (byte) 0xEF, (byte) 0xEB, (byte) 0xF7});
    }

    int last(int domid) {
        return lastByDomain.getOrDefault(domid, 0);
    }

    @Override
    public String name() {
        return "counter-dm";
    }

    @Override
    public boolean supports(DomainConfig config) {
        return config.type() == DomainType.HVM;
    }

    @Override
    public DeviceModelInstance attach(HvmPlatform platform) {
        return attach(platform, new byte[4]);
    }

    @Override
    public DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
        if (state.length != 4) {
            throw new IllegalArgumentException("counter-dm state is 4 bytes, not " + state.length);
        }
        int[] seen = {ByteBuffer.wrap(state).getInt()};
        int domid = platform.domid();
        IoHandler io = new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                return 0;
            }

            @Override
            public synchronized void ioWrite(int offset, int size, int value) {
                if (value != seen[0] + 1) {
                    error.compareAndSet(null, "d" + domid + ": after " + seen[0] + " came " + value);
                }
                seen[0] = value;
                last.set(value);
                lastByDomain.put(domid, value);
            }
        };
        platform.mapIo(PORT, 4, io);
        return new DeviceModelInstance() {
            @Override
            public void reset() {
            }

            @Override
            public void detach() {
                platform.unmapIo(PORT, 4);
            }

            @Override
            public byte[] saveState() {
                synchronized (io) {
                    return ByteBuffer.allocate(4).putInt(seen[0]).array();
                }
            }
        };
    }
}
