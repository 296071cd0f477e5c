package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.MULTICALL_ENTRY_SIZE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EFAULT;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EINVAL;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.ENOSYS;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.HC_IRET;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.HC_MULTICALL;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.HC_TABLE_SIZE;

import java.util.concurrent.atomic.AtomicLong;

import org.xenj.hypervisor.spi.hypercall.HypercallExtension;

/**
 * Xen's hypercall table for x86_32: number -> handler, with Xen's numbering; unknown numbers
 * answer -ENOSYS. Bad guest pointers become -EFAULT; any other exception is a hypervisor bug that
 * the guest must not be able to turn into a crash: it is logged and answered -EINVAL.
 * Extensions (other bundles, through {@link HypercallExtension}) may claim only free numbers.
 */
public final class HypercallDispatcher {

    private final Hypercall[] table = new Hypercall[HC_TABLE_SIZE];
    private volatile HypercallExtension[] extensions = new HypercallExtension[HC_TABLE_SIZE];
    private final AtomicLong internalErrors = new AtomicLong();

    public HypercallDispatcher() {
        XenHypercalls.install(this);
    }

    void set(int nr, Hypercall h) {
        table[nr] = h;
    }

    public boolean builtIn(int nr) {
        return nr >= 0 && nr < HC_TABLE_SIZE && table[nr] != null;
    }

    /** Registers an extension for a free number; returns false if the number is taken or out of range. */
    public synchronized boolean addExtension(HypercallExtension ext) {
        int nr = ext.number();
        if (nr < 0 || nr >= HC_TABLE_SIZE || table[nr] != null || extensions[nr] != null) {
            return false;
        }
        HypercallExtension[] copy = extensions.clone();
        copy[nr] = ext;
        extensions = copy;
        return true;
    }

    public synchronized void removeExtension(HypercallExtension ext) {
        int nr = ext.number();
        if (nr >= 0 && nr < HC_TABLE_SIZE && extensions[nr] == ext) {
            HypercallExtension[] copy = extensions.clone();
            copy[nr] = null;
            extensions = copy;
        }
    }

    public long internalErrors() {
        return internalErrors.get();
    }

    /** Runs hypercall {@code nr}; the result goes to the guest's EAX. */
    public int dispatch(HypercallContext c, int nr, int a1, int a2, int a3, int a4, int a5) {
        if (nr < 0 || nr >= HC_TABLE_SIZE) {
            return -ENOSYS;
        }
        Hypercall h = table[nr];
        try {
            if (h != null) {
                return h.call(c, a1, a2, a3, a4, a5);
            }
            HypercallExtension ext = extensions[nr];
            if (ext != null) {
                return ext.invoke(new ExtensionCall(c, a1, a2, a3, a4, a5));
            }
            return -ENOSYS;
        } catch (GuestFault | org.xenj.hypervisor.spi.hypercall.GuestMemoryFault f) {
            return -EFAULT;
        } catch (RuntimeException e) {
            if (internalErrors.getAndIncrement() < 20) {
                c.domain.context.log("hypercall " + nr + " failed internally: " + e);
            }
            return -EINVAL;
        }
    }

    /** HYPERVISOR_multicall(entries, count): runs each entry and stores its result in it. */
    int multicall(HypercallContext c, int entries, int count) {
        if (count < 0 || count > 1 << 20) {
            return -EINVAL;
        }
        if (c.multicallDepth > 0) {
            return -EINVAL; // multicalls do not nest
        }
        c.memory.checkWritable(entries, count * MULTICALL_ENTRY_SIZE);
        c.multicallDepth++;
        try {
            for (int i = 0; i < count; i++) {
                int e = entries + i * MULTICALL_ENTRY_SIZE;
                int op = c.memory.read32(e);
                int result;
                if (op == HC_MULTICALL || op == HC_IRET) {
                    result = -EINVAL;
                } else {
                    result = dispatch(c, op, c.memory.read32(e + 8), c.memory.read32(e + 12), c.memory.read32(e + 16),
                            c.memory.read32(e + 20), c.memory.read32(e + 24));
                }
                c.memory.write32(e + 4, result);
            }
            return 0;
        } finally {
            c.multicallDepth--;
        }
    }
}
