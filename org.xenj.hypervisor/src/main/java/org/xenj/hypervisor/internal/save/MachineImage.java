package org.xenj.hypervisor.internal.save;

import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.internal.cpu.CpuState;
import org.xenj.hypervisor.internal.evtchn.EventChannelsState;
import org.xenj.hypervisor.internal.gnttab.GrantTableState;
import org.xenj.hypervisor.internal.platform.PlatformState;

/**
 * An HVM guest's state apart from memory, as a {@link org.xenj.hypervisor.internal.exec.Guest}
 * hands it to a save and takes it back on restore.
 *
 * @param vcpus         one CPU record per vCPU, by index
 * @param platform      timers and interrupt controllers
 * @param pciHeaders    every PCI function's header (bdf → header words) as the guest programmed it
 * @param deviceModels  per device model name, its own state record
 * @param backends      per backend kind, its state record (empty: attach afresh)
 * @param evtchn        the domain's event channels (null: no Xen ABI)
 * @param gnttab        the domain's grant table (null: no Xen ABI)
 * @param xenstore      the domain's own xenstore subtree, paths relative to {@code /local/domain/<id>}
 * @param pvhvm         a PVHVM guest suspended through Xen's protocol: its Xen facts (null: a bare-PC HVM guest)
 * @param pv            a PV domain's Xen state (null: HVM); such an image has no platform (null) and no PCI headers
 */
public record MachineImage(List<CpuState> vcpus, PlatformState platform, Map<Integer, int[]> pciHeaders,
        Map<String, byte[]> deviceModels, Map<String, byte[]> backends, EventChannelsState evtchn, GrantTableState gnttab,
        Map<String, byte[]> xenstore, PvhvmSuspendState pvhvm, PvDomainState pv) {

    /** An HVM guest's image (PVHVM facts or null). */
    public MachineImage(List<CpuState> vcpus, PlatformState platform, Map<Integer, int[]> pciHeaders, Map<String, byte[]> deviceModels,
            Map<String, byte[]> backends, EventChannelsState evtchn, GrantTableState gnttab, Map<String, byte[]> xenstore,
            PvhvmSuspendState pvhvm) {
        this(vcpus, platform, pciHeaders, deviceModels, backends, evtchn, gnttab, xenstore, pvhvm, null);
    }

    /** A guest that never used Xen's PV interfaces. */
    public MachineImage(List<CpuState> vcpus, PlatformState platform, Map<Integer, int[]> pciHeaders, Map<String, byte[]> deviceModels,
            Map<String, byte[]> backends, EventChannelsState evtchn, GrantTableState gnttab, Map<String, byte[]> xenstore) {
        this(vcpus, platform, pciHeaders, deviceModels, backends, evtchn, gnttab, xenstore, null);
    }

    /** The same image with the domain's xenstore subtree. */
    public MachineImage withXenstore(Map<String, byte[]> store) {
        return new MachineImage(vcpus, platform, pciHeaders, deviceModels, backends, evtchn, gnttab, store, pvhvm, pv);
    }
}
