package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Write-protected shadow RAM (the i440FX PAM write enable clear): CPU stores to those frames are
 * dropped — plain, read-modify-write and string stores, also after a load cached the page in the
 * TLB — while loads and instruction fetches still see the RAM; a port write that changes the
 * protection (the chipset's PCI configuration write) makes the CPU drop its cached translations
 * at once, so the very next store lands.
 */
class ShadowRamWriteProtectTest extends CpuTestSupport {

    /** OUT to 0x80: AL=1 unprotects 0xF0000-0xFFFFF, AL=0 protects it again; the TLB flush is requested as the platform does. */
    private void wirePamPort() {
        env.onOut = (port, value) -> {
            if (port == 0x80) {
                mem.setCpuWriteProtected(0xf0, 16, (value & 1) == 0);
                env.flushRequested = true;
            }
        };
    }

    @Test
    void storesToProtectedShadowRamAreDroppedAndLoadsStillSeeTheRam() {
        mem.write32(0xf0000, 0x11223344);
        mem.write32(0xf1000, 0x55667788);
        mem.setCpuWriteProtected(0xf0, 16, true);
        wirePamPort();
        flat32(0x2000, """
                    mov edx, [0xf0000]          ; the load caches the page for reading
                    mov dword [0xf0000], 0xdeadbeef
                    add dword [0xf0000], 5      ; read-modify-write
                    mov edi, 0xf1000
                    mov ecx, 16
                    mov al, 0xaa
                    rep stosb                   ; string store through the element path
                    mov ebx, [0xf0000]
                    mov esi, [0xf1000]
                    mov dword [0x3000], 0x1234  ; ordinary RAM still takes stores
                    hlt
                """);
        runToHlt();
        assertEquals(0x11223344, cpu.getReg32(Cpu.EDX));
        assertEquals(0x11223344, cpu.getReg32(Cpu.EBX), "the stores were dropped");
        assertEquals(0x55667788, cpu.getReg32(Cpu.ESI), "rep stosb was dropped");
        assertEquals(0x11223344, mem.read32(0xf0000));
        assertEquals(0x1234, mem.read32(0x3000));
    }

    @Test
    void unprotectingThroughAPortWriteTakesEffectAtTheNextStore() {
        mem.write32(0xf0000, 0x11223344);
        mem.setCpuWriteProtected(0xf0, 16, true);
        wirePamPort();
        flat32(0x2000, """
                    mov dword [0xf0000], 1      ; dropped (and the slot knows the page)
                    mov al, 1
                    out 0x80, al                ; write enable on
                    mov dword [0xf0000], 2      ; lands
                    mov ebx, [0xf0000]
                    mov al, 0
                    out 0x80, al                ; write-protect again (as SeaBIOS does at the end of POST)
                    mov dword [0xf0000], 3      ; dropped
                    mov ecx, [0xf0000]
                    hlt
                """);
        runToHlt();
        assertEquals(2, cpu.getReg32(Cpu.EBX));
        assertEquals(2, cpu.getReg32(Cpu.ECX));
        assertEquals(2, mem.read32(0xf0000));
    }

    @Test
    void onlyFramesBelowOneMiBCanBeProtectedAndDeviceWritesAreNotAffected() {
        assertThrows(IllegalArgumentException.class, () -> mem.setCpuWriteProtected(0xff, 2, true));
        mem.setCpuWriteProtected(0xc0, 0x40, true);
        assertTrue(mem.cpuWriteProtected(0xc0));
        assertTrue(mem.cpuWriteProtected(0xff));
        assertFalse(mem.cpuWriteProtected(0x100));
        assertFalse(mem.cpuWriteProtected(0xbf));
        mem.write32(0xe0000, 7); // a loader or DMA
        assertEquals(7, mem.read32(0xe0000));
    }
}
