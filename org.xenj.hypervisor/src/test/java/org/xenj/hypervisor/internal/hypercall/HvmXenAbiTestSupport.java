package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;

/** A CPU environment without devices, interrupts or timers, for hypercall tests. */
final class HvmXenAbiTestSupport {

    static final CpuEnvironment NO_DEVICES = new CpuEnvironment() {
        @Override
        public int ioRead(int port, int size) {
            return -1;
        }

        @Override
        public void ioWrite(int port, int size, int value) {
        }

        @Override
        public long mmioRead(long gpa, int size) {
            return -1;
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
    };

    private HvmXenAbiTestSupport() {
    }
}
