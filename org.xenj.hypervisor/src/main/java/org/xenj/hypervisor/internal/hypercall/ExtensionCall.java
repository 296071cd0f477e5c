package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.spi.hypercall.GuestMemoryFault;
import org.xenj.hypervisor.spi.hypercall.HypercallCall;

/** What an extension sees of a hypercall: arguments and fault-checked memory. */
final class ExtensionCall implements HypercallCall {

    private final HypercallContext c;
    private final int[] args;

    ExtensionCall(HypercallContext c, int a1, int a2, int a3, int a4, int a5) {
        this.c = c;
        this.args = new int[] {a1, a2, a3, a4, a5};
    }

    @Override
    public int domid() {
        return c.domain.domid;
    }

    @Override
    public int vcpu() {
        return c.vcpu.id;
    }

    @Override
    public int arg(int i) {
        return args[i];
    }

    @Override
    public void read(int va, byte[] dst, int off, int len) {
        try {
            c.memory.read(va, dst, off, len);
        } catch (GuestFault f) {
            throw new GuestMemoryFault();
        }
    }

    @Override
    public void write(int va, byte[] src, int off, int len) {
        try {
            c.memory.write(va, src, off, len);
        } catch (GuestFault f) {
            throw new GuestMemoryFault();
        }
    }
}
