package org.xenj.hypervisor.api;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The hypervisor as a service: what {@code xl} talks to. Every method is safe to call from any
 * thread. Failures are reported as {@link HypervisorException} with a message fit for a user.
 */
@ProviderType
public interface Hypervisor {

    /** Builds and starts (unless {@link DomainConfig#startPaused()}) a new domain. */
    Domain create(DomainConfig config);

    void destroy(int domid);

    void pause(int domid);

    void unpause(int domid);

    /** Asks the guest to shut down (PV: xenstore control/shutdown; HVM: ACPI-less power button). */
    void shutdown(int domid, ShutdownReason reason);

    void reboot(int domid);

    /** All domains, Domain-0 first, ordered by id. */
    List<Domain> list();

    Optional<Domain> lookup(int domid);

    Optional<Domain> lookup(String name);

    /** Resolves a name or a numeric id, as {@code xl} does; throws if there is none. */
    Domain resolve(String nameOrId);

    HostInfo info();

    List<PCpuInfo> pcpus();

    List<VCpuInfo> vcpus(int domid);

    /** Hard affinity: the pCPUs this vCPU may run on (empty = all of its pool). */
    void pinVCpu(int domid, int vcpu, int[] pcpus);

    /** The hypervisor's log ring, oldest first ({@code xl dmesg}). */
    List<String> dmesg();

    /**
     * Xen's debug keys ({@code xl debug-keys}): each character asks for a dump, written to the log
     * ({@link #dmesg}). {@code h} lists the keys, {@code d} dumps every vCPU's registers and, for HVM
     * domains, the interrupt controllers and timers, {@code q} the domains. Unknown keys are said so
     * in the log. A dump reads state a running vCPU may be changing: it is a snapshot for diagnosis.
     *
     * @since 1.1
     */
    void debugKeys(String keys);

    void clearDmesg();

    ConsoleAccess console(int domid);

    CpuPools cpupools();

    void addListener(DomainListener listener);

    void removeListener(DomainListener listener);
}
