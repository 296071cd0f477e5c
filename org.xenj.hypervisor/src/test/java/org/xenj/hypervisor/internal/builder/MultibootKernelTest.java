package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;

/**
 * The Multiboot loader against the Multiboot Specification 0.6.96 (section 3.1 the header and its
 * address fields, 3.2 the machine state, 3.3 the information structure): guests/mb-test (built
 * from source) loaded as ELF and as a flat binary, the structure read back field by field; every
 * inconsistent header refused naming the field; mutated images never fail other than with a
 * refusal. (MultibootBootTest in qemu-dm runs the kernel itself, against QEMU.)
 */
class MultibootKernelTest {

    static byte[] elf;
    static byte[] flat;

    @BeforeAll
    static void build() throws Exception {
        Path out = Path.of("target", "mb-test").toAbsolutePath();
        Path script = Path.of("..", "guests", "mb-test", "build.sh").toAbsolutePath().normalize();
        Process p = new ProcessBuilder("sh", script.toString(), out.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "build timed out");
        assertEquals(0, p.exitValue(), "building guests/mb-test failed (needs gcc -m32 and objcopy):\n" + log);
        elf = Files.readAllBytes(out.resolve("mb-test.elf"));
        flat = Files.readAllBytes(out.resolve("mb-test.bin"));
    }

    static FakeGuestContext ctx() {
        return new FakeGuestContext(DomainConfig.builder("mb").memoryMiB(16).build(), true);
    }

    static String cString(FakeGuestContext c, long at) {
        StringBuilder sb = new StringBuilder();
        for (int b; (b = c.memory.read8(at++) & 0xff) != 0;) {
            sb.append((char) b);
        }
        return sb.toString();
    }

    @Test
    void theInformationStructureIsTheSpecificationsFieldByField() {
        for (byte[] image : List.of(elf, flat)) {
            FakeGuestContext c = ctx();
            E820Map map = E820Map.forHvm(c.memory);
            byte[] mod = "module bytes".getBytes(StandardCharsets.US_ASCII);
            MultibootKernel k = MultibootKernel.parse(image, "k");
            LinuxDirectBoot.EntryState e = k.load(c.memory, map, "k hello", List.of(new MultibootKernel.Module(mod, "m1 arg")),
                    c.logs::add);
            assertEquals(0x2BADB002, e.eax(), "EAX: the boot loader's magic (3.2)");
            assertTrue(e.eip() >= 0x100000 && e.eip() < 0x100040, "entry at _start (ELF) or just past the header (flat): " + e.eip());
            long info = e.ebx() & 0xffffffffL;
            assertEquals(0, info & 0xfff, "after the modules, page-aligned");
            assertTrue(info >= k.layout().kernelEnd(), "outside the kernel");
            int flags = c.memory.read32(info);
            assertEquals(0x24d, flags, "mem, cmdline, mods, mmap, boot_loader_name");
            assertEquals(639, c.memory.read32(info + 4), "mem_lower: KiB below the EBDA");
            long upper = map.entries().stream().filter(x -> x.address() == 0x100000 && x.type() == E820Map.RAM)
                    .mapToLong(E820Map.Entry::size).sum() >> 10;
            assertTrue(upper >= 15 << 10, "the map has RAM from 1 MiB: " + map.entries());
            assertEquals(upper, c.memory.read32(info + 8), "mem_upper: KiB from 1 MiB to the first hole");
            assertEquals("k hello", cString(c, c.memory.read32(info + 16) & 0xffffffffL));
            assertEquals(1, c.memory.read32(info + 20), "mods_count");
            long mods = c.memory.read32(info + 24) & 0xffffffffL;
            long modStart = c.memory.read32(mods) & 0xffffffffL;
            assertEquals(0, modStart & 0xfff, "flag 0: modules page-aligned");
            assertTrue(modStart >= k.layout().kernelEnd(), "module after the kernel (and its bss)");
            assertEquals(mod.length, c.memory.read32(mods + 4) - c.memory.read32(mods));
            byte[] back = new byte[mod.length];
            c.memory.read(modStart, back, 0, back.length);
            assertEquals(new String(mod, StandardCharsets.US_ASCII), new String(back, StandardCharsets.US_ASCII));
            assertEquals("m1 arg", cString(c, c.memory.read32(mods + 8) & 0xffffffffL));
            List<E820Map.Entry> entries = map.entries();
            assertEquals(24 * entries.size(), c.memory.read32(info + 44), "mmap_length");
            long mmap = c.memory.read32(info + 48) & 0xffffffffL;
            List<E820Map.Entry> read = new ArrayList<>();
            for (int i = 0; i < entries.size(); i++) {
                long at = mmap + 24L * i;
                assertEquals(20, c.memory.read32(at), "entry size excludes the size field");
                long base = (c.memory.read32(at + 4) & 0xffffffffL) | (long) c.memory.read32(at + 8) << 32;
                long len = (c.memory.read32(at + 12) & 0xffffffffL) | (long) c.memory.read32(at + 16) << 32;
                read.add(new E820Map.Entry(base, len, c.memory.read32(at + 20)));
            }
            assertEquals(entries, read, "the memory map is the domain's e820 map");
            assertEquals("xenj", cString(c, c.memory.read32(info + 64) & 0xffffffffL));
            assertEquals(0x10, e.codeSelector());
            assertEquals(0x18, e.dataSelector());
        }
    }

    /** The flat image with one header field (by offset from the header) replaced and the checksum kept right. */
    static byte[] withField(byte[] image, int fieldOffset, int value) {
        byte[] b = image.clone();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int h = MultibootKernel.findHeader(image);
        bb.putInt(h + fieldOffset, value);
        bb.putInt(h + 8, -(bb.getInt(h) + bb.getInt(h + 4)));
        return b;
    }

    static void assertRefused(byte[] image, String why) {
        FakeGuestContext c = ctx();
        HypervisorException e = assertThrows(HypervisorException.class, () -> MultibootKernel.parse(image, "k")
                .load(c.memory, E820Map.forHvm(c.memory), "k", List.of(), c.logs::add));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void inconsistentHeadersAreRefusedNamingTheField() {
        int h = MultibootKernel.findHeader(flat);
        ByteBuffer f = ByteBuffer.wrap(flat).order(ByteOrder.LITTLE_ENDIAN);
        int headerAddr = f.getInt(h + 12), loadAddr = f.getInt(h + 16), loadEnd = f.getInt(h + 20), bssEnd = f.getInt(h + 24);
        byte[] badSum = flat.clone();
        badSum[h + 8] ^= 1;
        assertRefused(badSum, "bad checksum");
        assertRefused(new byte[64], "no Multiboot header");
        assertRefused(withField(flat, 4, 0x10003 | 1 << 3), "unknown required bits 0x8");
        assertRefused(withField(flat, 16, headerAddr + 4), "load_addr");
        assertRefused(withField(flat, 20, loadAddr), "load_end_addr");
        assertRefused(withField(flat, 20, loadEnd + 0x10000), "does not have");
        assertRefused(withField(flat, 24, loadEnd - 4), "bss_end_addr");
        assertRefused(withField(flat, 28, bssEnd + 16), "entry_addr");
        assertRefused(withField(withField(withField(withField(flat, 12, 0xa0004), 16, 0xa0000), 20, 0), 24, 0), "VGA/ROM window");
        assertRefused(withField(withField(withField(withField(flat, 12, 0x6004), 16, 0x6000), 20, 0), 24, 0), "boot GDT page");
        assertRefused(withField(withField(withField(withField(withField(flat, 12, 0x7ff0004), 16, 0x7ff0000), 20, 0), 24, 0), 28,
                0x7ff0010), "outside the domain's RAM");
        assertRefused(withField(flat, 4, 0x3), "neither an ELF image nor a header with address fields");
        FakeGuestContext c = ctx();
        HypervisorException big = assertThrows(HypervisorException.class, () -> MultibootKernel.parse(elf, "k").load(c.memory,
                E820Map.forHvm(c.memory), "k", List.of(new MultibootKernel.Module(new byte[20 << 20], "huge")), c.logs::add));
        assertTrue(big.getMessage().contains("module 0"), big.getMessage());
    }

    @Test
    void aVideoModeRequestIsAnsweredWithNoneAsQemuDoes() {
        FakeGuestContext c = ctx();
        MultibootKernel.parse(withField(flat, 4, 0x10007), "k").load(c.memory, E820Map.forHvm(c.memory), "k", List.of(),
                c.logs::add);
        assertTrue(c.logs.stream().anyMatch(l -> l.contains("asks for a video mode; it gets none")), c.logs.toString());
    }

    /** 10,000 mutated images (bytes of the header region and random fields): each loads or is refused, nothing else. */
    @Test
    void mutatedImagesAreLoadedOrRefusedNeverAnInternalError() {
        SplittableRandom rnd = new SplittableRandom(99);
        int loaded = 0, refused = 0;
        List<String> internal = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            byte[] base = rnd.nextBoolean() ? elf : flat;
            byte[] m;
            if (rnd.nextInt(3) == 0) {
                m = base.clone();
                for (int n = 1 + rnd.nextInt(8); n > 0; n--) {
                    m[rnd.nextInt(Math.min(m.length, 8192))] = (byte) rnd.nextInt(256);
                }
            } else {
                int[] fields = {4, 12, 16, 20, 24, 28};
                int v = switch (rnd.nextInt(4)) {
                    case 0 -> rnd.nextInt();
                    case 1 -> 0x100000 + rnd.nextInt(-0x1000, 0x10000);
                    case 2 -> 0;
                    default -> rnd.nextInt(0x2000000);
                };
                m = withField(base, fields[rnd.nextInt(fields.length)], v);
            }
            if (rnd.nextInt(10) == 0) {
                m = java.util.Arrays.copyOf(m, rnd.nextInt(m.length));
            }
            FakeGuestContext c = new FakeGuestContext(DomainConfig.builder("mb").memoryMiB(4).build(), true);
            try {
                MultibootKernel.parse(m, "k").load(c.memory, E820Map.forHvm(c.memory), "k", List.of(), s -> { });
                loaded++;
            } catch (HypervisorException e) {
                refused++;
            } catch (RuntimeException e) {
                if (internal.size() < 5) {
                    internal.add(e.toString());
                }
            }
        }
        System.out.printf("[multiboot fuzz] 10000 mutated images: %d loaded, %d refused, %d internal errors%n", loaded, refused,
                internal.size());
        assertTrue(internal.isEmpty(), internal.toString());
        assertTrue(loaded > 100 && refused > 100, loaded + " loaded, " + refused + " refused: the mutations reach both outcomes");
    }
}
