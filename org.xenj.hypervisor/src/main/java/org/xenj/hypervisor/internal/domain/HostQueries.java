package org.xenj.hypervisor.internal.domain;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.PCpuInfo;
import org.xenj.hypervisor.api.VCpuInfo;
import org.xenj.hypervisor.internal.sched.Bits;
import org.xenj.hypervisor.internal.sched.PCpu;
import org.xenj.hypervisor.internal.sched.PoolScheduler;
import org.xenj.hypervisor.internal.sched.SchedulingCore;
import org.xenj.hypervisor.internal.sched.VCpu;

/**
 * The host-wide views behind {@code xen:list}, {@code xen:info}, {@code xen:vcpu-list} and {@code xen:vcpu-pin}: what
 * the pCPUs run, each vCPU's placement and affinity, and the capability words of the guest types
 * whose builders are there. Kept apart from {@link HypervisorCore} so the life-cycle stays readable;
 * the core resolves the domain ids and holds its monitor around the calls that change state.
 */
final class HostQueries {

    private final Plugins plugins;
    private final SchedulingCore sched;
    private final LongSupplier dom0CpuNanos;
    /** The core's own map (read here, changed only by the core). */
    private final Map<Integer, DomainImpl> domains;

    HostQueries(Plugins plugins, SchedulingCore sched, Map<Integer, DomainImpl> domains, LongSupplier dom0CpuNanos) {
        this.plugins = plugins;
        this.sched = sched;
        this.domains = domains;
        this.dom0CpuNanos = dom0CpuNanos;
    }

    /** The domains that are not gone, Domain-0 first. */
    List<Domain> list() {
        List<Domain> out = new ArrayList<>();
        for (DomainImpl d : domains.values()) {
            if (d.phase != DomainImpl.Phase.GONE) {
                out.add(d);
            }
        }
        return out;
    }

    Optional<Domain> lookup(int domid) {
        DomainImpl d = domains.get(domid);
        return d == null || d.phase == DomainImpl.Phase.GONE ? Optional.empty() : Optional.of(d);
    }

    Optional<Domain> lookup(String name) {
        if (name == null) {
            return Optional.empty();
        }
        for (DomainImpl d : domains.values()) {
            if (d.name.equals(name) && d.phase != DomainImpl.Phase.GONE) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /**
     * Xen's capability words for the guest types that boot here, as their builders are there:
     * PV x86_32 PAE, HVM 32-bit (with and without PAE; it needs a device model too) and PVH. Xen itself has no word of its own
     * for PVH (it is an HVM container); {@code pvh-3.0-x86_32} says it boots.
     */
    String xenCaps() {
        List<String> caps = new ArrayList<>();
        if (plugins.builderFor(DomainType.PV) != null) {
            caps.add("xen-3.0-x86_32p");
        }
        if (plugins.builderFor(DomainType.HVM) != null && !plugins.deviceModels().isEmpty()) {
            caps.add("hvm-3.0-x86_32");
            caps.add("hvm-3.0-x86_32p");
        }
        if (plugins.builderFor(DomainType.PVH) != null) {
            caps.add("pvh-3.0-x86_32");
        }
        return String.join(" ", caps);
    }

    List<PCpuInfo> pcpus() {
        List<PCpuInfo> out = new ArrayList<>();
        for (int i = 0; i < sched.nrPcpus(); i++) {
            PCpu p = sched.pcpu(i);
            VCpu v = p.current();
            out.add(new PCpuInfo(i, p.pool().name(), v == null ? -1 : v.domid(), v == null ? -1 : v.vcpuId(), p.busyNanos(), p.idleNanos()));
        }
        return out;
    }

    List<VCpuInfo> vcpus(DomainImpl d) {
        int domid = d.id;
        List<VCpuInfo> out = new ArrayList<>();
        if (d.sched == null) {
            int n = d.vcpus();
            long each = dom0CpuNanos.getAsLong() / n;
            for (int i = 0; i < n; i++) {
                out.add(new VCpuInfo(0, d.name, i, i % sched.nrPcpus(), org.xenj.hypervisor.api.VCpuState.RUNNING, each, new int[0]));
            }
            return out;
        }
        for (int i = 0; i < d.sched.vcpuCount(); i++) {
            VCpu v = d.vcpu(i);
            long[] aff = v.hardAffinity();
            out.add(new VCpuInfo(domid, d.name, i, v.executingOn(), v.state(), v.cpuTimeNanos(), aff == null ? new int[0] : Bits.members(aff)));
        }
        return out;
    }

    /** Runs under the core's monitor, like every management call. */
    void pinVCpu(DomainImpl d, int vcpu, int[] pcpus) {
        int domid = d.id;
        if (vcpu < 0 || vcpu >= d.sched.vcpuCount()) {
            throw new HypervisorException("domain " + domid + " (" + d.name + ") has vCPUs 0.." + (d.sched.vcpuCount() - 1) + ", not " + vcpu);
        }
        long[] bits = null;
        if (pcpus != null && pcpus.length > 0) {
            for (int c : pcpus) {
                if (c < 0 || c >= sched.nrPcpus()) {
                    throw new HypervisorException("no pCPU " + c + " (pCPUs are 0.." + (sched.nrPcpus() - 1) + ")");
                }
            }
            bits = Bits.of(pcpus);
        }
        PoolScheduler.affinityChanged(d.vcpu(vcpu), bits);
    }
}
