package org.xenj.hypervisor.internal.exec;

import org.xenj.hypervisor.api.DomainType;

/**
 * Builds the guest side of a domain of one {@link DomainType}: loads the kernel, creates the
 * platform (for HVM) and one {@link VCpuExecutor} per vCPU. The domain core owns memory, vCPUs
 * and scheduling; a builder owns what runs inside.
 */
public interface GuestBuilder {

    boolean supports(DomainType type);

    /**
     * Builds the guest into {@code context}'s memory (already populated with the configured RAM).
     * Throws {@link org.xenj.hypervisor.api.HypervisorException} with a user-facing message on bad
     * input (missing kernel, bad image); the domain is then destroyed and nothing leaks.
     */
    Guest build(GuestContext context);
}
