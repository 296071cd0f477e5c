package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.pv.ElfKernel;

/** The ELF inside a bzImage, unpacked as Xen's loader does for PV and PVH; bad payloads refused with the reason. */
class KernelElfTest {

    @Test
    void anElfIsTakenAsItIs() {
        byte[] elf = PvhImages.good();
        assertSame(elf, KernelElf.of(elf));
    }

    @Test
    void xzAndGzipPayloadsUnpackToTheElf() throws Exception {
        byte[] elf = PvhImages.good();
        assertArrayEquals(elf, KernelElf.of(PvhImages.bzImage(PvhImages.xz(elf), elf.length)));
        assertArrayEquals(elf, KernelElf.of(PvhImages.bzImage(PvhImages.gzip(elf), elf.length)));
    }

    @Test
    void badPayloadsAreRefusedWithTheReason() throws Exception {
        byte[] elf = PvhImages.good();
        byte[] xz = PvhImages.xz(elf);
        assertRefused(PvhImages.bzImage(xz, elf.length + 1), "unpacks to " + elf.length + " bytes, its trailer says " + (elf.length + 1));
        assertRefused(PvhImages.bzImage(xz, elf.length - 1), "more than the " + (elf.length - 1) + " bytes its trailer declares");
        assertRefused(PvhImages.bzImage(xz, 1L << 30), "claims to unpack to 1024 MiB");
        byte[] corrupt = xz.clone();
        corrupt[corrupt.length / 2] ^= 0x55;
        assertRefused(PvhImages.bzImage(corrupt, elf.length), "does not unpack");
        assertRefused(PvhImages.bzImage("BZh91AY&SY".getBytes(), 100), "bzip2-compressed; xenj unpacks xz and gzip");
        assertRefused(PvhImages.bzImage(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0, 0, 0, 0}, 100), "zstd-compressed");
        assertRefused(PvhImages.bzImage(PvhImages.xz("not an elf".getBytes()), 10), "not an ELF kernel");
        byte[] outside = PvhImages.bzImage(xz, elf.length);
        ByteBuffer.wrap(outside).order(ByteOrder.LITTLE_ENDIAN).putInt(0x24c, 1 << 30);
        assertRefused(outside, "lies outside the");
        byte[] old = PvhImages.bzImage(xz, elf.length);
        ByteBuffer.wrap(old).order(ByteOrder.LITTLE_ENDIAN).putShort(0x206, (short) 0x0206);
        assertRefused(old, "boot protocol 2.06 has no payload fields");
    }

    private static void assertRefused(byte[] image, String why) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelElf.of(image));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    /** 5,000 mutated bzImages (header and xz payload bytes): every one unpacks or is refused; 0 internal errors. */
    @Test
    void fuzzedBzImagesAreRefusedCleanly() throws Exception {
        byte[] elf = PvhImages.good();
        byte[] good = PvhImages.bzImage(PvhImages.xz(elf), elf.length);
        Random r = new Random(12);
        int inputs = 5_000, refused = 0, internal = 0;
        for (int i = 0; i < inputs; i++) {
            byte[] m = good.clone();
            for (int k = 1 + r.nextInt(4); k > 0; k--) {
                int at = r.nextBoolean() ? 0x1f0 + r.nextInt(0x70) : r.nextInt(m.length);
                m[at] = (byte) r.nextInt();
            }
            try {
                ElfKernel k = PvhBoot.parse(m, "fuzz");
                k.segments();
            } catch (HypervisorException e) {
                refused++;
            } catch (RuntimeException | OutOfMemoryError e) {
                internal++;
                System.err.println("internal error on input " + i + ": " + e);
            }
        }
        System.out.printf("KernelElf fuzz: %d inputs, %d refused, %d internal errors%n", inputs, refused, internal);
        assertEquals(0, internal, "internal errors");
        assertTrue(refused > 500, "mutations reached the checks: " + refused);
    }

    /** Debian's 686-pae bzImage (xz, x86 BCJ), when built: its payload is the vmlinux with the PVH entry note. */
    @Test
    void debiansBzImageUnpacksToAPvhVmlinux() throws Exception {
        Path bz = Path.of(System.getProperty("xenj.pvh.dir", "/work/guests/guest-pae"), "bzImage");
        if (!Files.isRegularFile(bz)) {
            bz = Path.of("..", "guest-pae", "bzImage");
        }
        assumeTrue(Files.isRegularFile(bz), "no 686-pae bzImage in /work/guests/guest-pae or ./guest-pae (scripts/build-guest.sh builds it)");
        ElfKernel k = PvhBoot.parse(Files.readAllBytes(bz), bz.toString());
        assertTrue(k.hasNote(ElfKernel.NOTE_PHYS32_ENTRY), "CONFIG_PVH=y kernels carry PHYS32_ENTRY");
        long entry = k.numericNote(ElfKernel.NOTE_PHYS32_ENTRY, -1);
        assertTrue(entry >= 0x1000000 && entry < 0x2000000, "entry in the kernel's text at 16 MiB: 0x" + Long.toHexString(entry));
        assertEquals(0xc0000000L, k.virtBase());
        assertEquals(0x1000000L, k.segments().get(0).paddr());
    }
}
