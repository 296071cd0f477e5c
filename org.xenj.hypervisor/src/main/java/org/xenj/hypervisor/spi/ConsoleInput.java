package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;

/** Receives bytes typed at a domain's console. */
@ConsumerType
public interface ConsoleInput {
    void input(byte[] data);
}
