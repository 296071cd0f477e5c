package org.xenj.hypervisor.internal.platform;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.HostTimer;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.hypercall.HvmXenAbi;
import org.xenj.hypervisor.internal.platform.apic.IoApic;
import org.xenj.hypervisor.internal.platform.pic.PicPair;
import org.xenj.hypervisor.internal.platform.pit.Pit8254;
import org.xenj.hypervisor.internal.platform.rtc.Mc146818Rtc;
import org.xenj.hypervisor.spi.ConsoleInput;
import org.xenj.hypervisor.spi.GuestMemory;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciSlot;
import org.xenj.hypervisor.internal.mem.HvmRamLayout;
import org.xenj.hypervisor.internal.platform.pci.BarSpace;
import org.xenj.hypervisor.internal.platform.pci.PciBus;
import org.xenj.hypervisor.internal.platform.pci.PciFirmware;

/**
 * One HVM domain's platform: the devices the hypervisor keeps (PIC pair + ELCR, PIT + port 0x61,
 * RTC/CMOS, IOAPIC, a local APIC per vCPU, reset control 0xCF9), the port and MMIO spaces the
 * device model plugs into, and one {@link CpuEnvironment} per vCPU. Timers fire from
 * {@link #serviceTimers}, called by the CPU at block boundaries and by a host timer when a vCPU
 * halts, so guest time follows the host clock whether or not the guest is running.
 */
public final class HvmPlatformImpl implements HvmPlatform {

    private final GuestContext context;
    private final TimeSource clock;
    /** The clock's instant of power-on (guest time 0): the ACPI PM timer counts from it. */
    private final long epochNanos;
    /** The ACPI PM1a/PM timer block, when the builder wrote ACPI tables (xl.cfg acpi=1). */
    private AcpiPm acpiPm;
    /** Maps a timer deadline on {@link #clock} to the host instant the host timer must fire at. */
    private final java.util.function.LongUnaryOperator hostNanosOf;
    private final IoPortBus ports;
    private final MmioBus mmio;
    private final InterruptFabric fabric;
    private final Pit8254 pit;
    private final Mc146818Rtc rtc;
    private final PciBus pci;
    /** Set once the builder is done: RAM under the ROM windows can no longer be given to devices. */
    private volatile boolean layoutSealed;
    private final DeviceTimers deviceTimers;
    /** Device work off the vCPU threads; created on first use, stopped by {@link #destroy}. */
    private java.util.concurrent.ExecutorService deviceExecutor;
    private final VCpuEnvironment[] environments;
    private final Runnable hostTimerTask = this::serviceFromHostTimer;

    private final Object timerLock = new Object();
    private long hostTimerDeadline = Long.MAX_VALUE;
    private HostTimer.Handle hostTimer;
    private volatile boolean destroyed;
    /** Bit per PCI base class the guest unplugged; kept across device-model hand-overs. */
    private final java.util.concurrent.atomic.AtomicInteger unpluggedClasses = new java.util.concurrent.atomic.AtomicInteger();
    /** Set by a device whose timer was reprogrammed: the next deadline may now be earlier. */
    private volatile boolean timersChanged;
    private final java.util.List<Runnable> shutdownListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Xen's ABI for this domain (null when xl.cfg turned it off); set before any vCPU runs. */
    private HvmXenAbi xenAbi;

    /** A platform on a bare time source whose instants are host instants (tests). */
    public HvmPlatformImpl(GuestContext context, TimeSource clock, long wallClockMillis) {
        this(context, clock, instant -> instant, wallClockMillis, clock.nanoTime());
    }

    private HvmPlatformImpl(GuestContext context, TimeSource clock, java.util.function.LongUnaryOperator hostNanosOf, long wallClockMillis,
            long epochNanos) {
        this.context = context;
        this.clock = clock;
        this.epochNanos = epochNanos;
        this.hostNanosOf = hostNanosOf;
        int vcpus = context.config().vcpus();
        VCpuWaker[] wakers = new VCpuWaker[vcpus];
        for (int i = 0; i < vcpus; i++) {
            wakers[i] = context.waker(i);
        }
        this.ports = new IoPortBus(context::log);
        this.mmio = new MmioBus(context::log);
        this.fabric = new InterruptFabric(vcpus, clock, wakers);
        this.pit = new Pit8254(clock, fabric, this::timersChanged);
        this.rtc = new Mc146818Rtc(clock, fabric, wallClockMillis, this::timersChanged);
        PicPair pic = fabric.pic();
        ports.map(PicPair.MASTER_BASE, 2, pic.ports(true));
        ports.map(PicPair.SLAVE_BASE, 2, pic.ports(false));
        ports.map(PicPair.ELCR_BASE, 2, pic.elcrPorts());
        ports.map(Pit8254.BASE, 4, pit.ports());
        ports.map(Pit8254.PORT_B, 1, pit.portB());
        ports.map(Mc146818Rtc.BASE, 2, rtc.ports());
        ports.map(ResetControl.PORT, 1, new ResetControl(this::requestReset));
        mmio.map(IoApic.DEFAULT_BASE, 0x1000, fabric.ioApic().mmio());
        this.deviceTimers = new DeviceTimers(context::log, deadline -> armHostTimer(deadline, clock.nanoTime()));
        this.pci = new PciBus(new PlatformBarSpace(), fabric, context::log, fabric::flushWakes);
        ports.map(PciBus.CONFIG_ADDRESS, 1, pci.configPorts(0));
        ports.map(PciBus.CONFIG_ADDRESS + 2, 2, pci.configPorts(2)); // 0xCF9 is reset control
        ports.map(PciBus.CONFIG_DATA, 4, pci.configPorts(4));
        this.vcpuDown = new java.util.concurrent.atomic.AtomicIntegerArray(vcpus);
        for (int i = 1; i < vcpus; i++) {
            vcpuDown.set(i, 1); // APs wait for their STARTUP IPI
        }
        this.environments = new VCpuEnvironment[vcpus];
        for (int i = 0; i < vcpus; i++) {
            environments[i] = new VCpuEnvironment(this, i, fabric.lapic(i));
            fabric.lapic(i).setTimerChanged(this::timersChanged);
        }
    }

    /**
     * Per vCPU: 1 while it is down (halted with interrupts off, or an AP waiting for its STARTUP
     * IPI) as it found itself when it last blocked.
     */
    private final java.util.concurrent.atomic.AtomicIntegerArray vcpuDown;

    /**
     * Records whether {@code vcpu} is down; returns true if every vCPU is down now. Each vCPU
     * records its own state before it reads the others', so the last one down sees all of them.
     */
    public boolean markVCpuDown(int vcpu, boolean down) {
        vcpuDown.set(vcpu, down ? 1 : 0);
        if (!down) {
            return false;
        }
        for (int i = 0; i < vcpuDown.length(); i++) {
            // an INIT, STARTUP or NMI on its way brings a down vCPU back up
            if (vcpuDown.get(i) == 0 || (fabric.processorState(i) & InterruptFabric.PROCESSOR_EVENT) != 0) {
                return false;
            }
        }
        return true;
    }

    private void timersChanged() {
        timersChanged = true;
    }

    /** Runs {@code listener} when the guest asks for poweroff or reset (the vCPU executors stop). */
    public void onShutdownRequest(Runnable listener) {
        shutdownListeners.add(listener);
    }

    /**
     * After device code ran outside any device lock: a reprogrammed timer may now be due earlier
     * than the host timer or the CPU's cached deadline, so re-evaluate (and re-arm) right away.
     */
    void afterDeviceAccess() {
        if (timersChanged) {
            timersChanged = false;
            serviceTimers(clock.nanoTime());
        }
        fabric.flushWakes();
    }

    /** The platform on the domain's virtual clock: its timers, the RTC's time and the TSC agree. */
    public HvmPlatformImpl(GuestContext context) {
        this(context, context.clock()::nanoTime, context.clock()::hostNanosOf, context.clock().wallclockNanos() / 1_000_000L,
                context.clock().epochNanos());
    }

    public CpuEnvironment environment(int vcpu) {
        return environments[vcpu];
    }

    public InterruptFabric fabric() {
        return fabric;
    }

    public Mc146818Rtc rtc() {
        return rtc;
    }

    public PciBus pciBus() {
        return pci;
    }

    /**
     * Firmware's PCI set-up for a directly booted kernel (no BIOS runs): PIRQ routes, interrupt
     * lines, BAR placement above {@code ramTop}, decoding on. Call after every device is plugged;
     * from then on the ROM windows' RAM stays RAM.
     */
    /** The devices are attached: no ROM window may replace shadow RAM any more (firmware boot, where the firmware enumerates PCI). */
    public void sealMemoryLayout() {
        layoutSealed = true;
    }

    public void firmwarePciSetup(long ramTop) {
        layoutSealed = true;
        PciFirmware.assign(pci, ramTop, irq -> {
            int port = 0x4d0 + (irq >> 3);
            ports.write(port, 1, ports.read(port, 1) | 1 << (irq & 7));
        }, context::log);
    }

    /**
     * Maps the ACPI PM1a event/control block and PM timer at {@link AcpiPm#BASE} (the FADT the
     * builder writes names them); S5 powers the domain off; the GPE0 block drives the SCI. Call before the vCPUs run.
     */
    public AcpiPm attachAcpiPm() {
        if (acpiPm == null) {
            acpiPm = new AcpiPm(clock, epochNanos, () -> requestShutdown(ShutdownReason.POWEROFF), context::log, (irq, level) -> {
                fabric.set(irq, level);
                fabric.flushWakes();
            });
            ports.map(AcpiPm.BASE, AcpiPm.PORTS, acpiPm);
        }
        return acpiPm;
    }

    /**
     * A new VM generation ID (random, different from the one in guest memory) and its ACPI
     * notification, for a guest that may now be one of several copies (a clone, a revert).
     *
     * @return false when this domain has no generation ID device (no acpi=1, or state from before it)
     */
    public boolean newGenerationId() {
        if (acpiPm == null || acpiPm.generationIdAddress() == 0) {
            return false;
        }
        GuestMemory memory = context.memory();
        byte[] old = new byte[AcpiPm.GENERATION_ID_SIZE];
        memory.read(acpiPm.generationIdAddress(), old, 0, old.length);
        byte[] id = randomGenerationId();
        while (java.util.Arrays.equals(id, old)) {
            id = randomGenerationId(); // Linux ignores a notify whose ID did not change
        }
        return acpiPm.newGeneration(memory, id);
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /** 128 random bits (Hyper-V's generation ID is a random GUID; QEMU's guid=auto makes one as well). */
    public static byte[] randomGenerationId() {
        byte[] id = new byte[AcpiPm.GENERATION_ID_SIZE];
        RANDOM.nextBytes(id);
        return id;
    }

    /** The ACPI PM block, or null without acpi=1. */
    public AcpiPm acpiPm() {
        return acpiPm;
    }

    IoPortBus ports() {
        return ports;
    }

    MmioBus mmioBus() {
        return mmio;
    }

    /** Platform reset (reboot in place): every hypervisor-side device to power-on state. */
    public void reset() {
        fabric.reset();
        pit.reset();
        pci.reset();
        if (acpiPm != null) {
            acpiPm.reset();
        }
        fabric.flushWakes();
    }

    /**
     * Plugs Xen's ABI in: the debug port 0xe9, the hypercall MSR and the event callback on every
     * vCPU (port 0x12, once a debug port too, is the platform PCI device's log port now). Call
     * before the vCPUs run; {@link #destroy} tears it down with the platform.
     */
    public void attachXenAbi(HvmXenAbi abi) {
        this.xenAbi = abi;
        ports.map(0xe9, 1, abi.debugPort());
        for (VCpuEnvironment env : environments) {
            env.attachXenAbi(abi);
        }
    }

    public HvmXenAbi xenAbi() {
        return xenAbi;
    }

    public void destroy() {
        if (xenAbi != null) {
            xenAbi.destroy();
        }
        destroyed = true;
        deviceTimers.cancelAll();
        synchronized (this) {
            if (deviceExecutor != null) {
                deviceExecutor.shutdownNow();
            }
        }
        synchronized (timerLock) {
            if (hostTimer != null) {
                hostTimer.cancel();
                hostTimer = null;
            }
        }
    }

    /**
     * The timers' and interrupt controllers' state (not the PCI bus nor device models: they keep
     * their own records). Take it with the vCPUs paused, so that it is one instant's state.
     */
    public PlatformState saveState() {
        InterruptFabric.Records controllers = fabric.saveControllers();
        return new PlatformState(pit.saveState(), controllers.pic(), controllers.ioApic(), controllers.lapics(),
                rtc.saveState(), acpiPm == null ? null : acpiPm.saveState());
    }

    /**
     * Loads {@code s} (vCPUs paused): timers go on from where they stood, the interrupt outputs are
     * recomputed, vCPUs with a deliverable interrupt are woken and the host timer is re-armed for
     * the earliest deadline (timers already due fire now).
     *
     * @throws IllegalArgumentException if {@code s} was taken from a domain with another number of vCPUs
     */
    public void restoreState(PlatformState s) {
        checkFits(s); // before anything changes: a refused state leaves the platform as it was
        // The RTC drives IRQ8 to its saved level first; the controllers' records then set every
        // line level and latch as saved, so nothing is delivered twice.
        pit.restoreState(s.pit());
        rtc.restoreState(s.rtc());
        if (acpiPm != null) {
            // a record from before the block existed (or from a domain without it) means power-on state
            acpiPm.restoreState(s.acpiPm() == null ? new AcpiPmState(0) : s.acpiPm());
        }
        fabric.restoreControllers(s.pic(), s.ioApic(), s.lapics());
        timersChanged = false;
        serviceTimers(clock.nanoTime());
    }

    /**
     * Whether {@code s} fits this platform (vCPUs, BSP, ACPI PM block), as {@link #restoreState} checks first.
     *
     * @throws IllegalArgumentException if it does not
     */
    public void checkFits(PlatformState s) {
        fabric.checkFits(s.lapics());
        if (s.acpiPm() != null && acpiPm == null) {
            throw new IllegalArgumentException("the platform state has an ACPI PM block and this domain has none (acpi=1 in its configuration?)");
        }
    }

    /**
     * A restore's platform part with the device models' (vCPUs paused): loads {@code s}, then runs
     * {@code attachDevices}, which attaches the models with their saved records; each drives its
     * interrupt lines to the level its record implies. The two records are taken at different
     * instants of a save while host threads (console and keyboard input, NIC receive, disk I/O)
     * may still change a device between them, so the controllers' line levels can disagree with
     * the devices': restored the other way round, a line recorded high whose device is low stays
     * high for the controllers, the device's next request makes no edge, and an edge-triggered
     * interrupt (COM1, the keyboard) is never seen again. Lines no device model drives (PIT, RTC,
     * ACPI SCI, the Xen callback GSI) keep the record's levels.
     */
    public void restoreState(PlatformState s, Runnable attachDevices) {
        restoreState(s);
        try {
            attachDevices.run();
        } finally {
            fabric.flushWakes();
        }
    }

    /** Interrupt controllers and timers, for xl debug-keys 'd' (read under their own locks). */
    public String debugState() {
        long now = clock.nanoTime();
        long host;
        synchronized (timerLock) {
            host = hostTimerDeadline;
        }
        StringBuilder b = new StringBuilder(256);
        b.append(fabric.pic().debugState()).append('\n').append(ioApicDebugState()).append('\n').append(pit.debugState(now)).append('\n');
        b.append("host timer ").append(host == Long.MAX_VALUE ? "not armed" : String.format("in %.3f ms", (host - now) / 1e6));
        for (int i = 0; i < fabric.vcpus(); i++) {
            long lapic = fabric.lapic(i).nextDeadline();
            var apic = fabric.lapic(i);
            b.append(String.format("%nvCPU %d: interrupt deliverable %s, LAPIC timer %s, TPR %02x, ISR %s, IRR %s, start-up %d", i,
                    fabric.interruptPending(i), lapic == Long.MAX_VALUE ? "idle" : String.format("in %.3f ms", (lapic - now) / 1e6),
                    apic.readRegister(0x80), vectors(apic, 0x100), vectors(apic, 0x200), fabric.processorState(i)));
        }
        return b.toString();
    }

    /** The IOAPIC's input levels and each unmasked pin: vector, level/edge, remote IRR. */
    private String ioApicDebugState() {
        org.xenj.hypervisor.internal.platform.apic.IoApicState s = fabric.ioApic().saveState();
        StringBuilder b = new StringBuilder(String.format("IOAPIC lines=%06x unmasked:", s.pinLevels()));
        long[] r = s.redirection();
        for (int pin = 0; pin < r.length; pin++) {
            if ((r[pin] & 1L << 16) == 0) {
                b.append(String.format(" %d->%02x%s%s", pin, r[pin] & 0xff, (r[pin] & 1L << 15) != 0 ? "L" : "E",
                        (r[pin] & 1L << 14) != 0 ? "R" : ""));
            }
        }
        return b.toString();
    }

    /** The vectors set in the 256-bit register starting at {@code offset} (ISR 0x100, IRR 0x200), hex. */
    private static String vectors(org.xenj.hypervisor.internal.platform.apic.LocalApic apic, int offset) {
        StringBuilder v = new StringBuilder("[");
        for (int w = 0; w < 8; w++) {
            int bits = apic.readRegister(offset + w * 0x10);
            for (int bit = 0; bit < 32; bit++) {
                if ((bits >>> bit & 1) != 0) {
                    v.append(v.length() > 1 ? " " : "").append(Integer.toHexString(w * 32 + bit));
                }
            }
        }
        return v.append(']').toString();
    }

    /** Fires due timers; returns the next deadline and makes sure a host timer will wake us then. */
    public long serviceTimers(long now) {
        long next = pit.service(now);
        next = Math.min(next, rtc.service(now));
        next = Math.min(next, deviceTimers.service(now));
        for (int i = 0; i < fabric.vcpus(); i++) {
            next = Math.min(next, fabric.lapic(i).service(now));
        }
        fabric.flushWakes();
        armHostTimer(next, now);
        return next;
    }

    private void armHostTimer(long next, long now) {
        if (next == Long.MAX_VALUE || destroyed) {
            return;
        }
        synchronized (timerLock) {
            if (next < hostTimerDeadline || hostTimerDeadline <= now) {
                if (hostTimer != null) {
                    hostTimer.cancel();
                }
                hostTimerDeadline = next;
                hostTimer = context.schedule(hostNanosOf.applyAsLong(next), hostTimerTask); // identity for HostClock
            }
        }
    }

    private void serviceFromHostTimer() {
        if (!destroyed) {
            synchronized (timerLock) {
                hostTimerDeadline = Long.MAX_VALUE;
                hostTimer = null;
            }
            serviceTimers(clock.nanoTime());
        }
    }

    // ---- CPU side (called through VCpuEnvironment) ----

    int ioRead(int port, int size) {
        int v = ports.read(port, size);
        afterDeviceAccess();
        return v;
    }

    void ioWrite(int port, int size, int value) {
        ports.write(port, size, value);
        afterDeviceAccess();
    }

    long mmioRead(long gpa, int size) {
        long v = mmio.read(gpa, size);
        afterDeviceAccess();
        return v;
    }

    void mmioWrite(long gpa, int size, long value) {
        mmio.write(gpa, size, value);
        afterDeviceAccess();
    }

    // ---- HvmPlatform (device model side) ----

    @Override
    public int domid() {
        return context.domid();
    }

    @Override
    public DomainConfig config() {
        return context.config();
    }

    @Override
    public void mapIo(int base, int count, IoHandler handler) {
        ports.map(base, count, handler);
    }

    @Override
    public void unmapIo(int base, int count) {
        ports.unmap(base, count);
    }

    @Override
    public void mapMmio(long base, long size, MmioHandler handler) {
        if (size <= 0 || base < 0) {
            throw new IllegalArgumentException("bad MMIO range 0x" + Long.toHexString(base) + "+" + size);
        }
        boolean romWindow = base >= HvmRamLayout.ROM_WINDOWS && base + size <= HvmRamLayout.ROM_WINDOWS_END;
        if (overlapsRam(base, size)) {
            if (!romWindow || layoutSealed) {
                throw new IllegalStateException("MMIO range 0x" + Long.toHexString(base) + "+0x" + Long.toHexString(size)
                        + " overlaps guest RAM" + (romWindow ? " (ROM windows are claimed before the domain runs)" : ""));
            }
        }
        if (base <= LocalApicRange.BASE + 0xfff && LocalApicRange.BASE < base + size) {
            throw new IllegalStateException("MMIO range 0x" + Long.toHexString(base) + " overlaps the local APIC");
        }
        mmio.map(base, size, handler);
        if (romWindow) {
            // An option ROM / BIOS window replaces the shadow RAM there (before any vCPU cached it).
            for (long page = base >>> 12; page <= (base + size - 1) >>> 12; page++) {
                context.memory().release(page);
            }
        }
    }

    @Override
    public void unmapMmio(long base, long size) {
        mmio.unmap(base, size);
    }

    @Override
    public PciSlot plugPci(int device, int function, PciDevice pciDevice) {
        PciSlot slot = pci.plug(device, function, pciDevice);
        context.log(String.format("PCI 00:%02x.%d: %04x:%04x class %06x", slot.bdf() >> 3, slot.bdf() & 7,
                pciDevice.identity().vendor(), pciDevice.identity().device(), pciDevice.identity().classCode()));
        return slot;
    }

    @Override
    public void unplugPci(PciSlot slot) {
        pci.unplug(slot);
    }

    /** The guest unplugged every emulated function of this PCI base class (Xen's platform device). */
    public void markClassUnplugged(int pciBaseClass) {
        if (pciBaseClass >= 0 && pciBaseClass < 32) {
            unpluggedClasses.getAndUpdate(m -> m | 1 << pciBaseClass);
        }
    }

    @Override
    public boolean emulatedClassUnplugged(int pciBaseClass) {
        return pciBaseClass >= 0 && pciBaseClass < 32 && (unpluggedClasses.get() & 1 << pciBaseClass) != 0;
    }

    @Override
    public void setShadowRamWritable(long base, long size, boolean writable) {
        if (base < 0xc0000 || size <= 0 || base + size > 0x100000 || ((base | size) & 0xfff) != 0) {
            throw new IllegalArgumentException(String.format("shadow RAM range 0x%x+0x%x is not whole pages in 0xc0000-0xfffff",
                    base, size));
        }
        context.memory().setCpuWriteProtected(base >>> 12, (int) (size >>> 12), !writable);
        for (VCpuEnvironment env : environments) {
            env.tlbFlushRequested = true;
        }
    }

    @Override
    public void setPciLinkRoute(int link, int isaIrq) {
        pci.setLinkRoute(link, isaIrq);
    }

    /** Guest RAM in {@code [base, base+size)}? (page granularity) */
    private boolean overlapsRam(long base, long size) {
        for (long page = base >>> 12; page <= (base + size - 1) >>> 12; page++) {
            if (context.memory().mfn(page) != org.xenj.hypervisor.internal.mem.DomainMemory.INVALID_MFN) {
                return true;
            }
        }
        return false;
    }

    /** The bus's view of the port and MMIO spaces, with the same checks device models get. */
    private final class PlatformBarSpace implements BarSpace {
        @Override
        public void mapIo(int base, int count, IoHandler handler) {
            ports.map(base, count, handler);
        }

        @Override
        public void unmapIo(int base, int count) {
            ports.unmap(base, count);
        }

        @Override
        public void mapMmio(long base, long size, MmioHandler handler) {
            HvmPlatformImpl.this.mapMmio(base, size, handler);
        }

        @Override
        public void unmapMmio(long base, long size) {
            mmio.unmap(base, size);
        }

        @Override
        public boolean overlapsRam(long base, long size) {
            return HvmPlatformImpl.this.overlapsRam(base, size)
                    || base <= LocalApicRange.BASE + 0xfff && LocalApicRange.BASE < base + size
                    || base <= IoApic.DEFAULT_BASE + 0xfff && IoApic.DEFAULT_BASE < base + size;
        }
    }

    @Override
    public void setIrq(int gsi, boolean level) {
        fabric.set(gsi, level);
        fabric.flushWakes();
    }

    @Override
    public GuestMemory memory() {
        return context.memory();
    }

    @Override
    public long nowNanos() {
        return clock.nanoTime();
    }

    @Override
    public org.xenj.hypervisor.spi.DeviceTimer newTimer(Runnable onExpiry) {
        return deviceTimers.create(onExpiry);
    }

    @Override
    public synchronized java.util.concurrent.Executor deviceExecutor() {
        if (destroyed) {
            throw new IllegalStateException("domain " + context.domid() + " is gone");
        }
        if (deviceExecutor == null) {
            String name = "xenj-d" + context.domid() + "-devices";
            deviceExecutor = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
        }
        java.util.concurrent.ExecutorService ex = deviceExecutor;
        return task -> ex.execute(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                context.log("device task failed: " + e);
            } finally {
                fabric.flushWakes();
            }
        });
    }

    @Override
    public void consoleOutput(byte[] data, int off, int len) {
        context.consoleOutput(data, off, len);
    }

    @Override
    public void setConsoleInput(ConsoleInput input) {
        context.setConsoleInput(input);
    }

    @Override
    public void requestReset() {
        context.log("platform reset requested by the guest");
        requestShutdown(ShutdownReason.REBOOT);
    }

    @Override
    public void requestExit(int code) {
        context.requestExit(code);
        for (Runnable r : shutdownListeners) {
            r.run();
        }
    }

    @Override
    public void requestShutdown(ShutdownReason reason) {
        context.requestShutdown(reason);
        for (Runnable r : shutdownListeners) {
            r.run();
        }
    }

    @Override
    public void log(String message) {
        context.log(message);
    }

    /** Where every vCPU's local APIC page sits. */
    static final class LocalApicRange {
        static final long BASE = org.xenj.hypervisor.internal.platform.apic.LocalApic.DEFAULT_BASE;

        private LocalApicRange() {
        }
    }
}
