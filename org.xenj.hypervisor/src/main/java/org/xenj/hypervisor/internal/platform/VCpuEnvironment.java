package org.xenj.hypervisor.internal.platform;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.MmioRange;
import org.xenj.hypervisor.internal.hypercall.HvmEventCallback;
import org.xenj.hypervisor.internal.hypercall.HvmXenAbi;
import org.xenj.hypervisor.internal.platform.apic.LocalApic;
import org.xenj.hypervisor.spi.MmioHandler;

/**
 * What one vCPU's CPU core sees of the platform: shared port and MMIO spaces, its own local APIC
 * page (each vCPU sees its own APIC at the same address) and its own interrupt state.
 */
final class VCpuEnvironment implements CpuEnvironment {

    private final HvmPlatformImpl platform;
    private final int vcpu;
    private final LocalApic lapic;
    private final MmioHandler lapicMmio;
    private final InterruptFabric fabric;
    /** The local APIC page as a TLB-cacheable range; replaced (old one retired) when the APIC is enabled or disabled. */
    private volatile MmioRange lapicRange;
    /** Xen's ABI (hypercall MSR, event callback); null without it. Set before the vCPU runs. */
    private HvmXenAbi xenAbi;
    private HvmEventCallback xenCallback;

    VCpuEnvironment(HvmPlatformImpl platform, int vcpu, LocalApic lapic) {
        this.platform = platform;
        this.vcpu = vcpu;
        this.lapic = lapic;
        this.lapicMmio = lapic.mmio();
        this.fabric = platform.fabric();
        this.lapicRange = new MmioRange(lapicMmio, LocalApic.DEFAULT_BASE, 0x1000);
    }

    /** Set by {@link HvmPlatformImpl#setShadowRamWritable} when the memory map changed under this vCPU's TLB. */
    volatile boolean tlbFlushRequested;

    @Override
    public boolean takeTlbFlushRequest() {
        if (!tlbFlushRequested) {
            return false;
        }
        tlbFlushRequested = false;
        return true;
    }

    @Override
    public int ioRead(int port, int size) {
        return platform.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        platform.ioWrite(port, size, value);
    }

    void attachXenAbi(HvmXenAbi abi) {
        this.xenAbi = abi;
        this.xenCallback = abi.eventCallback();
    }

    private boolean isLapic(long gpa) {
        return gpa - LocalApic.DEFAULT_BASE >= 0 && gpa - LocalApic.DEFAULT_BASE < 0x1000 && lapic.hardwareEnabled();
    }

    @Override
    public long mmioRead(long gpa, int size) {
        if (isLapic(gpa)) {
            long v = lapicMmio.mmioRead(gpa - LocalApic.DEFAULT_BASE, size);
            platform.afterDeviceAccess();
            return v;
        }
        return platform.mmioRead(gpa, size);
    }

    @Override
    public void mmioWrite(long gpa, int size, long value) {
        if (isLapic(gpa)) {
            lapicMmio.mmioWrite(gpa - LocalApic.DEFAULT_BASE, size, value);
            platform.afterDeviceAccess();
            return;
        }
        platform.mmioWrite(gpa, size, value);
    }

    @Override
    public MmioRange mmioRange(long gpa) {
        if (isLapic(gpa)) {
            return lapicRange;
        }
        return platform.mmioBus().rangeCoveringPage(gpa);
    }

    @Override
    public long mmioRead(MmioRange range, long offset, int size) {
        long v = platform.mmioBus().read(range, offset, size);
        platform.afterDeviceAccess();
        return v;
    }

    @Override
    public void mmioWrite(MmioRange range, long offset, int size, long value) {
        platform.mmioBus().write(range, offset, size, value);
        platform.afterDeviceAccess();
    }

    @Override
    public boolean interruptPending() {
        HvmEventCallback cb = xenCallback;
        if (cb != null) {
            if (cb.vectorPending(vcpu)) {
                return true;
            }
            if (cb.gsiAsserted()) {
                cb.syncGsi(); // drops the callback GSI once the guest cleared upcall_pending
            }
        }
        return fabric.interruptPending(vcpu);
    }

    @Override
    public int acknowledgeInterrupt() {
        HvmEventCallback cb = xenCallback;
        if (cb != null && cb.vectorPending(vcpu)) {
            return cb.vector(); // Xen injects the callback vector directly: no APIC IRR/ISR, no EOI
        }
        return fabric.acknowledge(vcpu);
    }

    @Override
    public int processorState() {
        return fabric.processorState(vcpu);
    }

    @Override
    public int takeProcessorEvent(boolean nmiAllowed) {
        return fabric.takeProcessorEvent(vcpu, nmiAllowed);
    }

    @Override
    public long serviceTimers(long nowNanos) {
        return platform.serviceTimers(nowNanos);
    }

    @Override
    public boolean readMsr(int msr, long[] out) {
        if (msr == LocalApic.MSR_APIC_BASE) {
            out[0] = lapic.baseMsr();
            return true;
        }
        HvmXenAbi xen = xenAbi;
        return xen != null && xen.readMsr(msr, out);
    }

    @Override
    public boolean writeMsr(int msr, long value) {
        if (msr == LocalApic.MSR_APIC_BASE) {
            boolean wasEnabled = lapic.hardwareEnabled();
            boolean ok = lapic.writeBaseMsr(value);
            if (lapic.hardwareEnabled() != wasEnabled) {
                lapicRange.retire(); // TLB entries holding the APIC page resolve it again
                lapicRange = new MmioRange(lapicMmio, LocalApic.DEFAULT_BASE, 0x1000);
            }
            return ok;
        }
        HvmXenAbi xen = xenAbi;
        return xen != null && xen.writeMsr(msr, value);
    }
}
