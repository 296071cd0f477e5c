package org.xenj.hypervisor.internal.builder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import org.osgi.service.component.annotations.Component;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.pv.ElfKernel;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;

/**
 * Builds {@code type="pvh"} guests: an HVM container with no device model (no qemu-dm, no PCI
 * devices, no firmware), Xen's HVM ABI as PVHVM guests have it (CPUID leaves, hypercall page,
 * callback vector, event channels, grant tables, xenstore and console rings), and the kernel
 * ({@code kernel=}: a vmlinux ELF or a bzImage, whose ELF payload is unpacked as Xen's loader does)
 * entered at its PHYS32_ENTRY note with an {@code hvm_start_info} in EBX ({@link PvhBoot}).
 * {@code ramdisk=} becomes the one module. The interrupt controllers and timers the hypervisor
 * itself emulates for HVM stay (xenj's HVM ABI offers no safe pvclock, so Linux keeps its
 * native clock events); nothing on the PCI bus or behind the legacy I/O ports of a PC is there.
 */
@Component(service = GuestBuilder.class)
public final class PvhGuestBuilder implements GuestBuilder {

    private final HvmVCpuFactory vcpus;

    public PvhGuestBuilder() {
        this(new Ia32VCpuFactory());
    }

    public PvhGuestBuilder(HvmVCpuFactory vcpus) {
        this.vcpus = vcpus;
    }

    @Override
    public boolean supports(DomainType type) {
        return type == DomainType.PVH;
    }

    @Override
    public Guest build(GuestContext context) {
        DomainConfig config = context.config();
        if (config.kernel() == null || config.kernel().isBlank()) {
            throw new HypervisorException("domain '" + config.name() + "': type=\"pvh\" needs kernel= (a PVH-capable vmlinux or bzImage)");
        }
        if (config.vcpus() != 1) {
            throw new HypervisorException("domain '" + config.name() + "': PVH domains have one vCPU here (vcpus=" + config.vcpus()
                    + "; secondary vCPUs need VCPUOP_initialise for HVM, not there yet)");
        }
        ElfKernel kernel = PvhBoot.parse(read(config.kernel(), "kernel"), config.kernel());
        byte[] ramdisk = config.ramdisk() == null || config.ramdisk().isBlank() ? null : read(config.ramdisk(), "ramdisk");
        E820Map map = PvhBoot.memoryMap(context.memory().size());
        PvhBoot.Loaded loaded = PvhBoot.load(context.memory(), map, kernel, ramdisk, config.cmdline(), config.kernel());

        HvmPlatformImpl platform = new HvmPlatformImpl(context);
        try {
            platform.rtc().setMemorySize(map.ramTop(), 0);
            HvmXenAbiSetup.attachPvh(context, platform);
            VCpuExecutor[] executors = {vcpus.create(context, 0, platform, loaded.entry())};
            PvhBoot.Layout l = loaded.layout();
            context.log(String.format("PVH boot %s: PHYS32_ENTRY 0x%x, kernel 0x%x-0x%x, %s, start_info 0x%x, %d MiB RAM, no device model",
                    config.kernel(), l.entry(), l.kernelStart(), l.kernelEnd(),
                    l.moduleSize() == 0 ? "no module" : String.format("module %d KiB at 0x%x", l.moduleSize() >> 10, l.moduleAddress()),
                    PvhBoot.START_INFO, map.ramTop() >> 20));
            return new HvmGuest(platform, List.of(), List.of(), executors, false);
        } catch (RuntimeException e) {
            platform.destroy();
            throw e instanceof HypervisorException ? e : new HypervisorException("cannot build PVH domain '" + config.name()
                    + "': " + e.getMessage(), e);
        }
    }

    private static byte[] read(String file, String what) {
        try {
            return Files.readAllBytes(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new HypervisorException(what + " file not found: " + file);
        } catch (IOException | RuntimeException e) {
            throw new HypervisorException("cannot read " + what + " " + file + ": " + e.getMessage(), e);
        }
    }
}
