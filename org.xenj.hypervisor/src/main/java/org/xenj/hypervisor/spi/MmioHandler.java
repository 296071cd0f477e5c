package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A memory-mapped device range. Offsets are relative to the range's base; {@code size} is 1, 2, 4
 * or 8. Called on the vCPU thread; must not block.
 */
@ConsumerType
public interface MmioHandler {
    long mmioRead(long offset, int size);

    void mmioWrite(long offset, int size, long value);
}
