package org.xenj.hypervisor.api;

import java.util.UUID;

import org.osgi.annotation.versioning.ProviderType;

/** A live view of one domain. Values are read at call time. */
@ProviderType
public interface Domain {

    int PRIVILEGED_ID = 0;

    int id();

    String name();

    UUID uuid();

    DomainState state();

    DomainType type();

    int vcpus();

    /** Memory currently owned by the domain, in KiB. */
    long memoryKiB();

    long maxMemoryKiB();

    /** Wall time since creation, in nanoseconds. */
    long uptimeNanos();

    /** Sum over the domain's vCPUs of the pCPU time they consumed, in nanoseconds. */
    long cpuTimeNanos();

    String pool();

    DomainConfig config();

    /** Why the domain last shut down, or {@code null} while it has not. */
    ShutdownReason shutdownReason();

    /** The exit code the guest ended its domain with (QEMU's isa-debug-exit, {@code debug_exit=} in xl.cfg), if any. */
    default java.util.OptionalInt exitCode() {
        return java.util.OptionalInt.empty();
    }

    default boolean isPrivileged() {
        return id() == PRIVILEGED_ID;
    }
}
