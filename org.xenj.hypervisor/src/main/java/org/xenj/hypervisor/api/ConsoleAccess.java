package org.xenj.hypervisor.api;

import java.util.function.Consumer;

import org.osgi.annotation.versioning.ProviderType;

/** A domain's console: what the guest wrote, and a way to type into it. */
@ProviderType
public interface ConsoleAccess {

    /** Everything the guest wrote that is still kept (a bounded ring), oldest first. */
    byte[] history();

    /**
     * Subscribes to new output; the consumer is called on a hypervisor thread and must not block.
     * Close the returned handle to detach.
     */
    AutoCloseable attach(Consumer<byte[]> output);

    /** Sends input bytes to the guest (serial RX or PV console ring). */
    void write(byte[] input);
}
