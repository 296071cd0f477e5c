package org.xenj.hypervisor.internal.exec;

/**
 * Given by the scheduling core to whatever can end a vCPU's block: interrupt controllers, event
 * channels, timers. Cheap and safe from any thread; waking a running vCPU makes it notice pending
 * work at its next block boundary.
 */
@FunctionalInterface
public interface VCpuWaker {
    void wake();
}
