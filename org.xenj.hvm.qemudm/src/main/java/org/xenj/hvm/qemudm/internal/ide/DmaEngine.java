package org.xenj.hvm.qemudm.internal.ide;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * The PIIX bus-master engine's work for one command, on the device executor: walks the guest's
 * physical region descriptor table (8-byte entries: buffer address, byte count with 0 = 64 KiB,
 * bit 31 = last) and moves the data between guest RAM and the disk, one region at a time through a
 * buffer of the channel's. Everything the guest controls is checked: an address outside its RAM, a
 * table without an end within its 64 KiB, a table shorter than the transfer all end the command
 * with an error status; nothing is read from or written to memory that is not the domain's.
 */
final class DmaEngine {

    static final int OK = 0;
    /** The transfer is done but the table describes more: the engine stays active, as the PIIX does. */
    static final int OK_TABLE_LONGER = 1;
    static final int DISK_ERROR = 2;
    static final int MEMORY_FAULT = 3;
    static final int TABLE_SHORT = 4;

    /**
     * @param write      memory to disk (WRITE DMA); else disk (or {@code data}) to memory
     * @param data       inline data to send (ATAPI replies), or null to read/write the disk
     */
    record Job(long generation, int prdTable, boolean write, BlockDevice image, long diskOffset, long length, byte[] data,
            boolean atapi) {
    }

    private DmaEngine() {
    }

    static int run(Job job, GuestMemory memory, byte[] chunk, int maxEntries, Consumer<String> log, String who) {
        long left = job.data() != null ? job.data().length : job.length();
        long moved = 0;
        long entry = job.prdTable() & 0xffff_fffcL;
        try {
            for (int i = 0; i < maxEntries; i++) {
                long addr = memory.read32(entry) & 0xffff_fffeL;
                int flags = memory.read32(entry + 4);
                int count = flags & 0xfffe;
                long bytes = count == 0 ? 0x10000 : count;
                boolean last = flags < 0;
                entry += 8;
                long n = Math.min(bytes, left);
                int result = move(job, memory, chunk, addr, moved, (int) n, log, who);
                if (result != OK) {
                    return result;
                }
                moved += n;
                left -= n;
                if (left == 0) {
                    return last && n == bytes ? OK : OK_TABLE_LONGER;
                }
                if (last) {
                    return TABLE_SHORT;
                }
            }
            log.accept(who + ": PRD table at 0x" + Integer.toHexString(job.prdTable()) + " has no end in "
                    + maxEntries + " entries");
            return TABLE_SHORT;
        } catch (IndexOutOfBoundsException e) { // the table itself is not in guest RAM (GuestMemory's contract)
            log.accept(who + ": PRD table at 0x" + Integer.toHexString(job.prdTable()) + " is outside guest RAM");
            return MEMORY_FAULT;
        }
    }

    /** One region of {@code n} bytes at guest address {@code addr}, {@code done} bytes into the transfer. */
    private static int move(Job job, GuestMemory memory, byte[] chunk, long addr, long done, int n, Consumer<String> log,
            String who) {
        if (n == 0) {
            return OK;
        }
        if (!memory.isRam(addr, n)) {
            log.accept(who + ": DMA region 0x" + Long.toHexString(addr) + "+" + n + " is outside guest RAM");
            return MEMORY_FAULT;
        }
        try {
            if (job.data() != null) {
                memory.write(addr, job.data(), (int) done, n);
                return OK;
            }
            if (job.image() == null) {
                return DISK_ERROR; // the medium went away (unplug)
            }
            ByteBuffer b = ByteBuffer.wrap(chunk, 0, n);
            if (job.write()) {
                memory.read(addr, chunk, 0, n);
                job.image().write(job.diskOffset() + done, b);
            } else {
                job.image().read(job.diskOffset() + done, b);
                memory.write(addr, chunk, 0, n);
            }
            return OK;
        } catch (IOException e) {
            log.accept(who + ": DMA disk " + (job.write() ? "write" : "read") + " at " + (job.diskOffset() + done)
                    + " failed: " + e);
            return DISK_ERROR;
        } catch (IndexOutOfBoundsException e) { // RAM changed under the check (ballooning): still the guest's error
            log.accept(who + ": DMA region 0x" + Long.toHexString(addr) + "+" + n + " faulted: " + e);
            return MEMORY_FAULT;
        }
    }

    /** One PIO block's disk read or write: false (logged) on any failure or without a medium. */
    static boolean io(BlockDevice image, boolean write, long at, ByteBuffer b, Consumer<String> log, String who) {
        if (image == null) {
            return false;
        }
        int n = b.remaining();
        try {
            if (write) {
                image.write(at, b);
            } else {
                image.read(at, b);
            }
            return true;
        } catch (IOException | RuntimeException e) {
            log.accept(who + ": " + (write ? "write" : "read") + " of " + n + " bytes at " + at + " failed: " + e.getMessage());
            return false;
        }
    }
}
