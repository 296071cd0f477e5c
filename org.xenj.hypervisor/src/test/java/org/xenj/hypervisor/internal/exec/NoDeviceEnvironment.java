package org.xenj.hypervisor.internal.exec;

/**
 * A platform with nothing on it, for tests that run the CPU without devices: ports and MMIO read
 * all ones, writes are dropped, no interrupt is ever pending and no timer is due.
 */
public final class NoDeviceEnvironment implements CpuEnvironment {

    public static final NoDeviceEnvironment INSTANCE = new NoDeviceEnvironment();

    private NoDeviceEnvironment() {
    }

    @Override
    public int ioRead(int port, int size) {
        return -1;
    }

    @Override
    public void ioWrite(int port, int size, int value) {
    }

    @Override
    public long mmioRead(long gpa, int size) {
        return -1L;
    }

    @Override
    public void mmioWrite(long gpa, int size, long value) {
    }

    @Override
    public boolean interruptPending() {
        return false;
    }

    @Override
    public int acknowledgeInterrupt() {
        return -1;
    }

    @Override
    public long serviceTimers(long nowNanos) {
        return Long.MAX_VALUE;
    }
}
