package org.xenj.hypervisor.internal.builder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.osgi.service.component.annotations.Component;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;

/**
 * Builds {@code type="hvm"} guests: the hypervisor-side platform, every device provider's devices,
 * the e820 map and CMOS memory size, the PCI firmware set-up, and a direct Linux boot
 * ({@code kernel=}), an ELF entered like hvmloader ({@code firmware_override=}, see
 * {@link ElfFirmware}), or — with neither — a PC BIOS image at the reset vector (SeaBIOS or
 * {@code bios_path_override=}, see {@link BiosFirmware}), which enumerates PCI itself. The domain core
 * has populated RAM already; nothing here allocates guest memory.
 */
@Component(service = GuestBuilder.class)
public final class HvmGuestBuilder implements GuestBuilder {

    /** xl.cfg key: an ELF image entered in place of hvmloader. */
    static final String FIRMWARE_OVERRIDE = "firmware_override";

    private final HvmVCpuFactory vcpus;

    public HvmGuestBuilder() {
        this(new Ia32VCpuFactory());
    }

    public HvmGuestBuilder(HvmVCpuFactory vcpus) {
        this.vcpus = vcpus;
    }

    @Override
    public boolean supports(DomainType type) {
        return type == DomainType.HVM;
    }

    @Override
    public Guest build(GuestContext context) {
        DomainConfig config = context.config();
        java.util.List<DeviceModel> models = DeviceModelSelection.select(context.deviceModels(), config, context::log);
        if (models.isEmpty()) {
            throw new HypervisorException("no HVM device model is available for domain '" + config.name()
                    + "' (is the org.xenj.hvm.qemudm bundle active?)");
        }
        E820Map map = E820Map.forHvm(context.memory());
        String firmware = config.raw().get(FIRMWARE_OVERRIDE);
        LinuxDirectBoot.EntryState entry;
        String bootLine;
        if (firmware != null && !firmware.isBlank()) {
            entry = ElfFirmware.load(context.memory(), map, read(firmware, "firmware_override"), firmware);
            bootLine = String.format("HVM firmware_override %s: entry 0x%x", firmware, entry.eip());
        } else {
            if (config.kernel() == null || config.kernel().isBlank()) {
                String path = config.raw().getOrDefault(BiosFirmware.BIOS_PATH_OVERRIDE, "");
                if (path.isBlank()) {
                    path = BiosFirmware.DEFAULT_BIOS;
                }
                BiosFirmware bios = BiosFirmware.of(read(path, "BIOS image (bios_path_override=, default "
                        + BiosFirmware.DEFAULT_BIOS + " from Debian's seabios package)"), path);
                return assemble(context, config, models, map, LinuxDirectBoot.EntryState.RESET_VECTOR,
                        String.format("HVM BIOS boot: %s (%d KiB) at 0x%x, reset vector F000:FFF0", path, bios.size() >> 10,
                                bios.romBase()), bios);
            }
            byte[] image = read(config.kernel(), "kernel");
            byte[] initrd = config.ramdisk() == null || config.ramdisk().isBlank() ? null : read(config.ramdisk(), "ramdisk");
            if (!BzImage.hasLinuxHeader(image) && MultibootKernel.isMultiboot(image)) {
                // a Multiboot kernel, as GRUB or QEMU -kernel boot it; ramdisk= is its one module
                MultibootKernel mb = MultibootKernel.parse(image, config.kernel());
                java.util.List<MultibootKernel.Module> modules = initrd == null ? java.util.List.of()
                        : java.util.List.of(new MultibootKernel.Module(initrd, config.ramdisk()));
                entry = mb.load(context.memory(), map, MultibootKernel.commandLine(config.kernel(), config.cmdline()),
                        modules, context::log);
                bootLine = String.format("HVM multiboot: %s, entry 0x%x, %d module(s), information at 0x%x", config.kernel(),
                        entry.eip(), modules.size(), entry.ebx());
                return assemble(context, config, models, map, entry, bootLine, null);
            }
            BzImage kernel = BzImage.parse(image, config.kernel());
            LinuxDirectBoot boot = new LinuxDirectBoot();
            entry = boot.load(context.memory(), map, kernel, initrd, config.cmdline());
            bootLine = String.format("HVM direct boot: bzImage protocol %d.%02d, entry 0x%x, initrd %d KiB at 0x%x",
                    kernel.protocol() >> 8, kernel.protocol() & 0xff, entry.eip(), boot.layout().initrdSize() >> 10,
                    boot.layout().initrdAddress());
        }

        return assemble(context, config, models, map, entry, bootLine, null);
    }

    /** The platform, the device models' devices and the vCPUs around a loaded image. */
    private Guest assemble(GuestContext context, DomainConfig config, java.util.List<DeviceModel> models, E820Map map,
            LinuxDirectBoot.EntryState entry, String bootLine, BiosFirmware bios) {
        HvmPlatformImpl platform = new HvmPlatformImpl(context);
        java.util.List<DeviceModelInstance> devices = new java.util.ArrayList<>();
        try {
            platform.rtc().setMemorySize(map.ramTop(), 0);
            HvmXenAbiSetup.attach(context, platform);
            if (bios != null) {
                bios.loadShadow(context.memory(), platform);
                bios.mapRom(platform);
            }
            for (DeviceModel model : models) {
                devices.add(context.deferDevices() ? null : model.attach(platform));
            }
            if (bios == null) {
                platform.firmwarePciSetup(map.ramTop());
                if (Ia32VCpuFactory.apicEnabled(context)) {
                    writeMpTable(context, platform);
                }
                if (acpiEnabled(context)) {
                    writeAcpiTables(context, platform, map.ramTop());
                }
            } else {
                platform.sealMemoryLayout(); // the firmware enumerates PCI and assigns BARs itself
            }
            VCpuExecutor[] executors = new VCpuExecutor[config.vcpus()];
            for (int i = 0; i < executors.length; i++) {
                executors[i] = vcpus.create(context, i, platform, i == 0 ? entry : null);
            }
            context.log(String.format("%s, %d MiB RAM, device models %s", bootLine, map.ramTop() >> 20,
                    models.stream().map(DeviceModel::name).collect(java.util.stream.Collectors.joining(", "))));
            return new HvmGuest(platform, models, devices, executors, context.deferDevices());
        } catch (RuntimeException e) {
            platform.destroy();
            devices.stream().filter(d -> d != null).forEach(DeviceModelInstance::detach);
            throw e instanceof HypervisorException ? e : new HypervisorException("cannot build HVM domain '" + config.name()
                    + "': " + e.getMessage(), e);
        }
    }

    /**
     * The MP table a directly booted kernel finds its vCPUs and the IOAPIC in (SeaBIOS writes its
     * own on a firmware boot). Only with the local APIC: without it Linux drives the PIC alone.
     */
    private static void writeMpTable(GuestContext context, HvmPlatformImpl platform) {
        int vcpus = context.config().vcpus();
        var pci = platform.pciBus();
        int size = MpTable.write(context.memory(), vcpus, platform.fabric().ioApic().id(), org.xenj.hypervisor.internal.cpu.Cpu.SIGNATURE,
                MP_CPU_FEATURES, pci::intxIrq);
        context.log(String.format("MP table at 0x%x (%d bytes): %d CPU(s), IOAPIC ID %d", MpTable.FLOATING_POINTER_ADDRESS,
                size, vcpus, platform.fabric().ioApic().id()));
    }

    /** xl.cfg key: ACPI tables and the ACPI PM block for a directly booted kernel ({@code acpi=1|0}, as Xen's xl.cfg). */
    static final String ACPI = "acpi";

    /**
     * {@code acpi=} on a direct boot: off unless set, and only with the local APIC (the MADT
     * describes local APICs and the IOAPIC; a guest without them gets the PIC and no ACPI).
     *
     * @throws HypervisorException for {@code acpi=1} with the local APIC off, or a value other than 0/1
     */
    static boolean acpiEnabled(GuestContext context) {
        String v = context.config().raw().get(ACPI);
        if (v == null || v.isBlank()) {
            return false;
        }
        v = v.trim();
        boolean on = v.equals("1") || v.equalsIgnoreCase("true");
        if (!on && !v.equals("0") && !v.equalsIgnoreCase("false")) {
            throw new HypervisorException("acpi = " + v + ": expected 1 or 0");
        }
        if (on && !Ia32VCpuFactory.apicEnabled(context)) {
            throw new HypervisorException("acpi = 1 needs the local APIC (apic = 1 or vcpus > 1): the MADT describes it");
        }
        return on;
    }

    /** RSDP, RSDT, FADT, FACS, MADT and DSDT in the BIOS area, and the PM block they name. */
    private static void writeAcpiTables(GuestContext context, HvmPlatformImpl platform, long ramTop) {
        int vcpus = context.config().vcpus();
        var pci = platform.pciBus();
        int size = AcpiTables.write(context.memory(), vcpus, platform.fabric().ioApic().id(), pci::intxIrq,
                org.xenj.hypervisor.internal.platform.pci.PciFirmware.memoryStart(ramTop));
        var pm = platform.attachAcpiPm();
        // the first generation: a random ID, as QEMU's guid=auto and Hyper-V give a new VM
        byte[] id = HvmPlatformImpl.randomGenerationId();
        context.memory().write(AcpiTables.GENERATION_ID_ADDRESS, id, 0, id.length);
        pm.setGenerationIdAddress(AcpiTables.GENERATION_ID_ADDRESS);
        context.log(String.format("ACPI tables at 0x%x (%d bytes): RSDP, RSDT, FADT (PM block at 0x%x, GPE0 at 0x%x, SCI IRQ %d), MADT (%d CPUs),"
                + " DSDT (PCI0 _CRS/_PRT, VGEN with its generation ID at 0x%x, _S5)", AcpiTables.BASE, size,
                org.xenj.hypervisor.internal.platform.AcpiPm.BASE,
                org.xenj.hypervisor.internal.platform.AcpiPm.BASE + org.xenj.hypervisor.internal.platform.AcpiPm.GPE0_OFFSET,
                org.xenj.hypervisor.internal.platform.AcpiPm.SCI_IRQ, vcpus, AcpiTables.GENERATION_ID_ADDRESS));
    }

    /** The processor entries' feature flags: FPU and APIC (CPUID leaf 1 EDX bits 0 and 9). */
    private static final int MP_CPU_FEATURES = 1 | 1 << 9;

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
