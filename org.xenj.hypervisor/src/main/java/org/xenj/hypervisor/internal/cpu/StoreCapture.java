package org.xenj.hypervisor.internal.cpu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The stores of one re-executed instruction into one linear page, kept aside instead of reaching
 * memory (PV writable page tables: the page maps a page-table frame read-only). The owner copies
 * the frame into {@link #data()} and calls {@link Cpu#emulateCapturingStores}; the CPU then reads
 * and writes that copy for the page, refuses what Xen's emulator refuses (a store that is not
 * naturally aligned, wider than 8 bytes, or crosses the page), and once the instruction has
 * completed asks {@link #commit} whether to keep it. Preallocated per vCPU: nothing is allocated
 * per emulated instruction.
 */
public abstract class StoreCapture {

    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final byte[] data = new byte[4096];
    /** Per 8-byte entry: which of its bytes the instruction stored (bit i = byte i). */
    private final int[] written = new int[512];
    private final int[] touched = new int[512];
    private int touchedCount;
    int page = 1;
    boolean refused;

    /** The page's bytes as the instruction sees them (fill before emulating; holds its stores after). */
    public final byte[] data() {
        return data;
    }

    /** Starts a capture of linear page {@code linearPage} (its bytes must be in {@link #data()}). */
    public final void begin(int linearPage) {
        for (int k = 0; k < touchedCount; k++) {
            written[touched[k]] = 0;
        }
        touchedCount = 0;
        refused = false;
        page = linearPage & ~0xfff;
    }

    /** Entries (8-byte slots) the instruction stored into, in the order first stored. */
    public final int touchedCount() {
        return touchedCount;
    }

    public final int touchedSlot(int k) {
        return touched[k];
    }

    /** Byte mask of the stores into {@code slot} (bit i = byte i of the entry). */
    public final int writtenMask(int slot) {
        return written[slot];
    }

    /** The entry's value after the instruction. */
    public final long entry(int slot) {
        return (long) LE64.get(data, slot * 8);
    }

    /** Whether a store of {@code size} bytes at {@code lin} is one Xen's page-table emulation takes. */
    final boolean acceptable(int lin, int size) {
        return size > 0 && size <= 8 && (size & (size - 1)) == 0 && (lin & (size - 1)) == 0
                && ((lin ^ page) & ~0xfff) == 0;
    }

    final void store(int lin, int size, long value) {
        int off = lin & 0xfff;
        for (int i = 0; i < size; i++) {
            int at = off + i;
            data[at] = (byte) (value >>> (8 * i));
            int slot = at >>> 3;
            if (written[slot] == 0) {
                touched[touchedCount++] = slot;
            }
            written[slot] |= 1 << (at & 7);
        }
    }

    final int load8(int lin) {
        return data[lin & 0xfff] & 0xff;
    }

    /**
     * The instruction completed (opcode {@code op}: 0x000-0x1FF as decoded): apply the stores for
     * real, or return false to undo the instruction (the guest then gets the page fault it caused).
     */
    protected abstract boolean commit(int op);
}
