package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A port-I/O device range. Offsets are relative to the range's base; {@code size} is 1, 2 or 4.
 * Called on the vCPU thread; must not block. Reads of bits a device lacks return all ones.
 */
@ConsumerType
public interface IoHandler {
    int ioRead(int offset, int size);

    void ioWrite(int offset, int size, int value);
}
