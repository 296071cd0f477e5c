package org.xenj.hypervisor.internal.dom0;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.*;

import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Domain 0's end of a guest's PV console ring (io/console.h): drains {@code out} into the
 * domain's console (shown by {@code xen:console}, kept in its log) and feeds typed input into
 * {@code in}. Ring indices come from the guest and are checked: a producer more than a ring
 * ahead is clamped to the ring, never trusted as a length.
 */
public final class PvConsoleBackend {

    /** Where drained output goes. */
    public interface Output {
        void write(byte[] data, int off, int len);
    }

    private final MachineMemory machine;
    private final long page;
    private final Output output;
    private final Runnable notifyGuest;
    private long drained;

    public PvConsoleBackend(MachineMemory machine, int consoleMfn, Output output, Runnable notifyGuest) {
        this.machine = machine;
        this.page = (long) consoleMfn << 12;
        this.output = output;
        this.notifyGuest = notifyGuest;
    }

    /** Bytes drained so far. */
    public synchronized long drained() {
        return drained;
    }

    /** Called when the guest signals the console port. */
    public void service() {
        boolean any;
        synchronized (this) {
            int cons = MachineFrames.read32(machine, page + CONS_OUT_CONS);
            int prod = MachineFrames.read32(machine, page + CONS_OUT_PROD);
            int avail = prod - cons;
            if (avail < 0 || avail > CONS_OUT_SIZE) {
                cons = prod - Math.min(Math.max(avail, 0), CONS_OUT_SIZE); // resynchronise, keep what is there
                avail = prod - cons;
            }
            byte[] buf = new byte[avail];
            for (int i = 0; i < avail; i++) {
                buf[i] = (byte) MachineFrames.read8(machine, page + CONS_OUT + ((cons + i) & (CONS_OUT_SIZE - 1)));
            }
            MachineFrames.write32(machine, page + CONS_OUT_CONS, prod);
            drained += avail;
            any = avail > 0;
            if (any) {
                output.write(buf, 0, avail);
            }
        }
        if (any) {
            notifyGuest.run();
        }
    }

    /** Typed input: as much as fits in the {@code in} ring; returns how many bytes were taken. */
    public int input(byte[] data, int off, int len) {
        int n;
        synchronized (this) {
            int cons = MachineFrames.read32(machine, page + CONS_IN_CONS);
            int prod = MachineFrames.read32(machine, page + CONS_IN_PROD);
            int used = prod - cons;
            if (used < 0 || used > CONS_IN_SIZE) {
                return 0;
            }
            n = Math.min(len, CONS_IN_SIZE - used);
            for (int i = 0; i < n; i++) {
                MachineFrames.write8(machine, page + CONS_IN + ((prod + i) & (CONS_IN_SIZE - 1)), data[off + i]);
            }
            MachineFrames.write32(machine, page + CONS_IN_PROD, prod + n);
        }
        if (n > 0) {
            notifyGuest.run();
        }
        return n;
    }
}
