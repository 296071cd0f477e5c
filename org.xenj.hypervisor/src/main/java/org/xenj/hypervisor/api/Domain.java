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

    /**
     * What a clone or a revert of a domain without a VM Generation ID device leaves behind: one
     * wording for the hypervisor's log and the toolstack.
     *
     * @since 1.6
     */
    String NO_GENERATION_ID_WARNING = "the guest has no VM Generation ID device (HVM with acpi=1 has one), so it was not told"
            + " it is a copy: its RNG state, and anything else it derived before the snapshot, is the original's";

    /**
     * Whether the guest has a VM Generation ID device (an HVM domain built with acpi=1): its
     * clones and reverts get a new ID and an ACPI notification, and Linux reseeds its RNG.
     *
     * @since 1.6
     */
    default boolean hasGenerationId() {
        return false;
    }

    default boolean isPrivileged() {
        return id() == PRIVILEGED_ID;
    }
}
