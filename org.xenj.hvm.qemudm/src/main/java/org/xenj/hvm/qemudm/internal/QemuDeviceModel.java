package org.xenj.hvm.qemudm.internal;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.RemovableMedia;
import org.xenj.dom0.vswitch.api.VirtualSwitch;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

/**
 * xenj's qemu-dm: the emulated PC devices an HVM domain sees besides those the hypervisor keeps
 * (PIC, PIT, RTC, APICs). Registered as a {@link DeviceModel} service; one {@link PcDevices}
 * per attached domain. Dom0's virtual switch ({@link VirtualSwitch}) connects the emulated NICs and
 * the block layer ({@link BlockImages}) opens the IDE disks' images; both are optional and dynamic,
 * so that qemu-dm serves domains while they are absent and is not restarted (which would hand every
 * domain's devices over) when they come or go.
 */
@Component(service = {DeviceModel.class, RemovableMedia.class})
public final class QemuDeviceModel implements DeviceModel, RemovableMedia, org.xenj.hypervisor.spi.MigrationWarmUp {

    /** The domains this qemu-dm serves now, for medium changes. */
    private final java.util.Map<Integer, PcDevices> domains = new java.util.concurrent.ConcurrentHashMap<>();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile VirtualSwitch vswitch;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile BlockImages blockImages;

    /** Where the domains' displays are offered to Domain 0's consoles; null outside OSGi. */
    private volatile org.osgi.framework.BundleContext context;

    public QemuDeviceModel() {
    }

    @org.osgi.service.component.annotations.Activate
    void activate(org.osgi.framework.BundleContext context) {
        this.context = context;
    }

    @org.osgi.service.component.annotations.Deactivate
    void deactivate() {
        this.context = null;
    }

    /** Outside OSGi (tests, in-process boots): with this switch (NICs) and no block layer. */
    public QemuDeviceModel(VirtualSwitch vswitch) {
        this(vswitch, null);
    }

    /** Outside OSGi (tests, in-process boots): with this block layer (IDE) and no switch. */
    public QemuDeviceModel(BlockImages blockImages) {
        this(null, blockImages);
    }

    /** Outside OSGi: with this switch and block layer (either may be null). */
    public QemuDeviceModel(VirtualSwitch vswitch, BlockImages blockImages) {
        this.vswitch = vswitch;
        this.blockImages = blockImages;
    }

    @Override
    public String name() {
        return "qemu-dm";
    }

    /** Attaches, saves, reads back and detaches throw-away devices once, before a migration's pause needs those paths. */
    @Override
    public void warmUp() {
        try {
            WarmUp.run();
        } catch (RuntimeException | LinkageError e) {
            // only a warm-up: the migration takes the same paths cold and reports what fails there
        }
    }

    @Override
    public boolean supports(DomainConfig config) {
        return config.type() == DomainType.HVM;
    }

    /** The PC's serial line (COM1 as the domain console), keyboard controller, emulated NICs (vif), IDE disks and VGA are ours. */
    @Override
    public java.util.Set<String> claims() {
        return java.util.Set.of("serial", "keyboard", "vif", "disk", "vga");
    }

    @Override
    public DeviceModelInstance attach(HvmPlatform platform) {
        return served(platform, PcDevices.attach(platform, blockImages, vswitch));
    }

    private PcDevices served(HvmPlatform platform, PcDevices d) {
        int domid = platform.domid();
        domains.put(domid, d);
        org.osgi.framework.ServiceRegistration<?> display = registerDisplay(d);
        d.onDetach(() -> {
            domains.remove(domid, d);
            if (display != null) {
                try {
                    display.unregister();
                } catch (IllegalStateException alreadyGone) {
                    // the bundle is stopping: the framework took it down already
                }
            }
        });
        return d;
    }

    /** The domain's stdvga as a {@link org.xenj.dom0.vnc.api.GuestDisplay} service, for VNC and screenshots. */
    private org.osgi.framework.ServiceRegistration<?> registerDisplay(PcDevices d) {
        org.osgi.framework.BundleContext ctx = context;
        org.xenj.dom0.vnc.api.GuestDisplay display = d.display();
        if (ctx == null || display == null) {
            return null;
        }
        java.util.Hashtable<String, Object> props = new java.util.Hashtable<>();
        props.put(org.xenj.dom0.vnc.api.GuestDisplay.DOMID, display.domid());
        return ctx.registerService(org.xenj.dom0.vnc.api.GuestDisplay.class, display, props);
    }

    /**
     * The display of {@code domid} (its stdvga), or null: what the service registration offers, for
     * in-process use without OSGi (tests that serve it over VNC themselves).
     */
    public org.xenj.dom0.vnc.api.GuestDisplay display(int domid) {
        PcDevices d = domains.get(domid);
        return d == null ? null : d.display();
    }

    /** COM1's registers and line in {@code domid} (null: not served), for a boot test's failure report. */
    public String consoleUartState(int domid) {
        PcDevices d = domains.get(domid);
        return d == null ? null : d.com1().debugState();
    }

    /** The emulated NICs' registers and lines in {@code domid} (null: not served), for a failure report. */
    public String nicState(int domid) {
        PcDevices d = domains.get(domid);
        return d == null || d.nics() == null ? null : d.nics().debugState();
    }

    /** The devices of {@code domid} now (null: not served), for tests in this package that drive them as a guest would. */
    PcDevices devices(int domid) {
        return domains.get(domid);
    }

    @Override
    public boolean hasDrive(int domid, String vdev) {
        PcDevices d = domains.get(domid);
        return d != null && d.hasCdrom(vdev);
    }

    /** xl cd-insert/cd-eject on an emulated IDE CD-ROM: the guest's ATAPI driver sees the media change. */
    @Override
    public void changeMedium(int domid, DiskSpec medium) {
        PcDevices d = domains.get(domid);
        if (d == null) {
            throw new IllegalArgumentException("qemu-dm does not serve d" + domid);
        }
        d.changeMedium(medium);
    }

    /** The hand-over from a previous qemu-dm (bundle update): its record, version-checked, or refused. */
    @Override
    public DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
        PcDevicesState s;
        try {
            s = PcDevicesState.fromBytes(state);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("qemu-dm cannot take over: " + e.getMessage(), e);
        }
        return served(platform, PcDevices.attach(platform, blockImages, vswitch, s));
    }
}
