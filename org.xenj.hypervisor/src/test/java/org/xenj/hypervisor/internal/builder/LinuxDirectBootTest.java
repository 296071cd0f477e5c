package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;

class LinuxDirectBootTest {

    private final DomainMemory memory = new FakeGuestContext(DomainConfig.builder("t").memoryMiB(64).build()).memory;

    @Test
    void parsesTheSetupHeader() {
        BzImage k = BzImage.parse(TestImages.defaultImage(), "k");
        assertEquals(0x020f, k.protocol());
        assertEquals(0x100000, k.code32Start());
        assertEquals(2047, k.cmdlineSize());
        assertEquals(8192, k.protectedModeKernel().length);
        assertEquals(0x268 - 0x1f1, k.setupHeader().length);
    }

    @Test
    void rejectsWhatIsNotABzImage() {
        HypervisorException e = assertThrows(HypervisorException.class, () -> BzImage.parse(new byte[100], "tiny"));
        assertTrue(e.getMessage().contains("tiny"));
        byte[] noMagic = TestImages.defaultImage();
        noMagic[0x202] = 'X';
        assertThrows(HypervisorException.class, () -> BzImage.parse(noMagic, "x"));
        e = assertThrows(HypervisorException.class, () -> BzImage.parse(TestImages.bzImage(0x0204, 512, 0x37ffffff, 255), "old"));
        assertTrue(e.getMessage().contains("2.04"), e.getMessage());
        byte[] zImage = TestImages.defaultImage();
        zImage[0x211] = 0;
        assertThrows(HypervisorException.class, () -> BzImage.parse(zImage, "z"));
        byte[] truncated = java.util.Arrays.copyOf(TestImages.defaultImage(), 0x280);
        truncated[0x1f1] = 100;
        assertThrows(HypervisorException.class, () -> BzImage.parse(truncated, "t"));
    }

    @Test
    void loadsKernelInitrdCommandLineZeroPageAndGdt() {
        BzImage k = BzImage.parse(TestImages.defaultImage(), "k");
        E820Map map = E820Map.forHvm(memory);
        byte[] initrd = new byte[10_000];
        initrd[0] = 0x1f;
        initrd[9_999] = 0x42;
        LinuxDirectBoot boot = new LinuxDirectBoot();
        LinuxDirectBoot.EntryState entry = boot.load(memory, map, k, initrd, "console=ttyS0");

        assertEquals(0x100000, entry.eip());
        assertEquals(0x7000, entry.esi());
        assertEquals(0x10, entry.codeSelector());
        assertEquals(0x18, entry.dataSelector());
        assertEquals(1, memory.read8(0x100000), "first byte of the protected-mode kernel");

        long zp = entry.esi();
        assertEquals(0xff, memory.read8(zp + 0x210), "type_of_loader");
        assertEquals(0x81, memory.read8(zp + 0x211), "LOADED_HIGH | CAN_USE_HEAP");
        assertEquals(0xde00, memory.read16(zp + 0x224));
        assertEquals(0x53726448, memory.read32(zp + 0x202), "setup header copied");
        long cmd = memory.read32(zp + 0x228) & 0xffffffffL;
        byte[] text = new byte[14];
        memory.read(cmd, text, 0, 14);
        assertEquals("console=ttyS0\0", new String(text, StandardCharsets.US_ASCII));

        long rd = memory.read32(zp + 0x218) & 0xffffffffL;
        assertEquals(10_000, memory.read32(zp + 0x21c));
        assertEquals(0, rd & 0xfff, "page aligned");
        assertTrue(rd + 10_000 <= 64L << 20 && rd >= 0x1000000 + 0x200000, "high, above the kernel's unpack area");
        assertEquals(0x1f, memory.read8(rd));
        assertEquals(0x42, memory.read8(rd + 9_999));

        int n = memory.read8(zp + 0x1e8);
        assertEquals(map.entries().size(), n);
        assertEquals(0, memory.read32(zp + 0x2d0) | memory.read32(zp + 0x2d4));
        assertEquals(0x9fc00, memory.read32(zp + 0x2d8));
        assertEquals(1, memory.read32(zp + 0x2e0));
        assertEquals((64 - 1) * 1024, memory.read32(zp + 0x1e0), "alt_mem_k");

        long gdt = entry.gdtBase();
        assertEquals(31, entry.gdtLimit());
        assertEquals(0x0000ffff, memory.read32(gdt + 0x10));
        assertEquals(0x00cf9b00, memory.read32(gdt + 0x14), "flat 32-bit code");
        assertEquals(0x00cf9300, memory.read32(gdt + 0x1c), "flat 32-bit data");
    }

    @Test
    void initrdRespectsInitrdAddrMax() {
        BzImage k = BzImage.parse(TestImages.bzImage(0x020f, 4096, 0x2ffffff, 255), "k");
        LinuxDirectBoot boot = new LinuxDirectBoot();
        boot.load(memory, E820Map.forHvm(memory), k, new byte[5000], "");
        assertEquals(0x3000000 - 0x2000, boot.layout().initrdAddress());
    }

    @Test
    void refusesWhatDoesNotFit() {
        BzImage k = BzImage.parse(TestImages.defaultImage(), "k");
        E820Map map = E820Map.forHvm(memory);
        LinuxDirectBoot boot = new LinuxDirectBoot();
        assertThrows(HypervisorException.class, () -> boot.load(memory, map, k, new byte[60 << 20], ""), "initrd");
        assertThrows(HypervisorException.class, () -> boot.load(memory, map, k, null, "x".repeat(3000)), "cmdline");
        DomainMemory small = new FakeGuestContext(DomainConfig.builder("s").memoryMiB(8).build()).memory;
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> boot.load(small, E820Map.forHvm(small), k, null, ""));
        assertTrue(e.getMessage().contains("MiB"), e.getMessage());
    }

    @Test
    void e820HasTheLegacyHoleAndApicPages() {
        List<E820Map.Entry> e = E820Map.forHvm(memory).entries();
        assertEquals(new E820Map.Entry(0, 0x9fc00, 1), e.get(0));
        assertEquals(new E820Map.Entry(0x9fc00, 0x400, 2), e.get(1));
        assertEquals(new E820Map.Entry(0xf0000, 0x10000, 2), e.get(2));
        assertEquals(new E820Map.Entry(0x100000, (64L << 20) - 0x100000, 1), e.get(3));
        assertEquals(new E820Map.Entry(0xfec00000L, 0x1000, 2), e.get(4));
        assertEquals(new E820Map.Entry(0xfee00000L, 0x1000, 2), e.get(5));
    }
}
