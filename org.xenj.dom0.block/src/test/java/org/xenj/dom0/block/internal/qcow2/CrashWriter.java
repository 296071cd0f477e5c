package org.xenj.dom0.block.internal.qcow2;

import java.nio.ByteBuffer;
import java.nio.file.Path;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.BlockImagesService;

/**
 * The child process of {@link Qcow2CrashTest}: writes slot after slot (each slot's bytes are a
 * function of its number), flushes every few slots and prints {@code flushed <n>} once slots
 * 0..n-1 are acknowledged durable — until the parent kills it with SIGKILL.
 */
public final class CrashWriter {

    private CrashWriter() {
    }

    public static void main(String[] args) throws Exception {
        Path image = Path.of(args[0]);
        try (BlockImagesService images = new BlockImagesService();
                BlockDevice d = images.open(image, ImageFormat.QCOW2, false)) {
            int slots = Qcow2CrashTest.slots(d.size());
            System.out.println("ready");
            System.out.flush();
            for (int n = 0; n < slots; n++) {
                int slot = Qcow2CrashTest.slotAt(n, slots);
                d.write((long) slot * Qcow2CrashTest.SLOT, ByteBuffer.wrap(Qcow2CrashTest.slotData(slot)));
                if (n % 5 == 4) {
                    d.flush();
                    System.out.println("flushed " + (n + 1));
                    System.out.flush();
                }
            }
            System.out.println("done");
        }
    }
}
