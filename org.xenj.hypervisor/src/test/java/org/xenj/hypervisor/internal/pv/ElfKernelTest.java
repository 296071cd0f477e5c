package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.HypervisorException;

class ElfKernelTest {

    @Test
    void notesAreRead() {
        ElfKernel k = new ElfKernel(TestElf.kernel(0xC0000000L, new byte[8192], 8192, 0xC0001000L));
        assertEquals(0xC0000000L, k.virtBase());
        assertEquals(0xC0000000L, k.entry());
        assertEquals(0xC0001000L, k.hypercallPage());
        assertEquals("yes", k.paeMode());
        assertEquals("generic", k.loader());
        assertEquals("!pae_pgdir_above_4gb", k.features());
        assertEquals("xenj-test", k.guestOs());
        assertTrue(k.hasXenNotes());
    }

    @Test
    void legacyXenGuestSectionIsRead() {
        ElfKernel k = new ElfKernel(TestElf.legacy(0xC0000000L, new byte[8192],
                "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,ELF_PADDR_OFFSET=0xC0000000,HYPERCALL_PAGE=0x1,PAE=yes,LOADER=generic"));
        assertTrue(k.hasXenNotes());
        assertEquals(0xC0000000L, k.virtBase());
        assertEquals(0xC0001000L, k.hypercallPage(), "legacy HYPERCALL_PAGE is a page number");
        assertEquals("yes", k.paeMode());
        assertEquals("generic", k.loader());
        assertEquals("linux", k.guestOs());
        assertEquals(0xC0000000L, k.entry(), "ELF entry when there is no ENTRY note");
    }

    @Test
    void malformedImagesAreClearErrors() {
        assertThrows(IllegalArgumentException.class, () -> new ElfKernel(new byte[10]));
        assertThrows(IllegalArgumentException.class, () -> new ElfKernel("not an elf at all, but long enough to parse a header....".getBytes()));
        byte[] good = TestElf.kernel(0xC0000000L, new byte[4096], 4096, -1);
        byte[] truncated = java.util.Arrays.copyOf(good, 4200);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ElfKernel(truncated));
        assertTrue(e.getMessage().contains("outside the file") || e.getMessage().contains("note"), e.getMessage());
        byte[] wide = good.clone();
        wide[4] = 2;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ElfKernel(wide)).getMessage().contains("32-bit"));
        Random r = new Random(1);
        for (int i = 0; i < 2000; i++) {
            byte[] mutant = good.clone();
            for (int k = 0; k < 8; k++) {
                mutant[r.nextInt(200)] = (byte) r.nextInt();
            }
            try {
                new ElfKernel(mutant);
            } catch (IllegalArgumentException ok) {
                // the only exception allowed
            }
        }
    }

    @Test
    void builderRefusesMissingOrNonXenKernels(@TempDir Path dir) throws Exception {
        assertTrue(assertThrows(HypervisorException.class, () -> PvDomainBuilder.loadKernel(null)).getMessage().contains("kernel="));
        assertTrue(assertThrows(HypervisorException.class, () -> PvDomainBuilder.loadKernel(dir.resolve("nope").toString()))
                .getMessage().contains("cannot read"));
        Path plain = dir.resolve("plain.elf");
        Files.write(plain, TestElf.image(0xC0000000L, new byte[4096], 4096, new byte[0]));
        assertTrue(assertThrows(HypervisorException.class, () -> PvDomainBuilder.loadKernel(plain.toString()))
                .getMessage().contains("not a Xen PV kernel"));
    }
}
