package org.xenj.hypervisor.internal.builder;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.dom0.HvmStoreAndConsole;
import org.xenj.hypervisor.internal.hypercall.HvmXenAbi;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;
import org.xenj.hypervisor.internal.xenabi.platformpci.XenPlatformPci;

/**
 * Gives an HVM domain Xen's ABI, as every HVM guest on Xen has it: the CPUID leaves
 * 0x40000000+, the hypercall MSR, {@code vmcall}/{@code vmmcall}, hvm_op params, add_to_physmap,
 * event channels and grant tables, the 0xe9 debug port, and the Xen platform PCI device (00:03.0,
 * 5853:0001) with the unplug protocol on ports 0x10-0x1f. The xl.cfg key {@value #KEY} (default 1)
 * turns it off with 0: the guest then sees a bare PC, and a PVHVM kernel boots as on hardware. (On
 * Xen that key removes the platform PCI device and with it the PV drivers; the CPUID leaves stay.
 * Here the key hides the whole ABI, as before the device existed.)
 */
final class HvmXenAbiSetup {

    static final String KEY = "xen_platform_pci";

    private HvmXenAbiSetup() {
    }

    /** Whether the domain gets Xen's ABI; a value other than 0/1/true/false is a config error. */
    static boolean enabled(DomainConfig config) {
        String v = config.raw().get(KEY);
        if (v == null) {
            return true;
        }
        String s = v.trim();
        if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
            s = s.substring(1, s.length() - 1).trim();
        }
        switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "1", "true", "yes" -> {
                return true;
            }
            case "0", "false", "no" -> {
                return false;
            }
            default -> throw new HypervisorException("domain '" + config.name() + "': " + KEY + "=" + v
                    + " is not a boolean (use 1 or 0)");
        }
    }

    /** Creates the domain's Xen state and plugs it into the platform; null when the key turns it off. */
    static HvmXenAbi attach(GuestContext context, HvmPlatformImpl platform) {
        if (!enabled(context.config())) {
            return null;
        }
        HvmXenAbi abi = attachAbi(context, platform, false);
        XenPlatformPci.plugInto(platform, abi.debugPort());
        return abi;
    }

    /**
     * A PVH domain's Xen ABI: always on (a PVH kernel has no other way to its console and
     * devices), without the platform PCI device, as PVH has no PCI bus to put it on, and with
     * the console ring taking the console's input, as hvc0 is its only console.
     */
    static HvmXenAbi attachPvh(GuestContext context, HvmPlatformImpl platform) {
        return attachAbi(context, platform, true);
    }

    private static HvmXenAbi attachAbi(GuestContext context, HvmPlatformImpl platform, boolean consoleInput) {
        HvmXenAbi abi = new HvmXenAbi(XenHost.of(context), context, context.config().vcpus(), platform::setIrq);
        platform.attachXenAbi(abi);
        abi.attachServices(HvmStoreAndConsole.setUp(abi.host(), abi.domain(), consoleInput)::close);
        return abi;
    }

    /** Installs the CPUID leaves and the hypercall entry on vCPU {@code vcpu}'s CPU. */
    static void install(Cpu cpu, HvmXenAbi abi, int vcpu) {
        if (abi != null) {
            cpu.setCpuidHook(abi.cpuidHook(vcpu));
            cpu.setHypercallHandler(abi.hypercallHandler(vcpu));
        }
    }
}
