package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Descriptor checks, limits, privilege, call gates, LAR/LSL, 16-bit forms and PAE paging. */
class SegmentationTest extends CpuTestSupport {


    @BeforeEach
    void gdt() {
        desc(2, 0, 0xfffff, 0x9a, 0xc); // 0x10 ring-0 code
        desc(3, 0, 0xfffff, 0x92, 0xc); // 0x18 ring-0 data
        desc(4, 0x10000, 0xfff, 0x92, 0x4); // 0x20 small data segment, limit 4 KiB
        desc(5, 0x20000, 0xfff, 0x96, 0x4); // 0x28 expand-down, B=1: valid offsets 0x1000..0xffffffff
        desc(6, 0, 0xfffff, 0x12, 0xc); // 0x30 not present
        desc(7, 0, 0xfffff, 0xfa, 0xc); // 0x38 ring-3 code
        desc(8, 0, 0xfffff, 0xf2, 0xc); // 0x40 ring-3 data
        cpu.setGdtr(GDT, 0x7f);
    }

    private int runFlat(String body) {
        flat32(0x1000, body);
        return cpu.runTest(1000);
    }

    @Test
    void dataSegmentLimitRaisesGp() {
        assertEquals(-1, runFlat("""
                mov ax, 0x20
                mov ds, ax
                mov eax, [0xffc]
                hlt
                """));
        assertEquals(Cpu.GP, runFlat("""
                mov ax, 0x20
                mov ds, ax
                mov eax, [0xffe]
                hlt
                """), "dword crossing the limit");
        assertEquals(0, cpu.lastErrorCode());
        assertEquals(0x10000, cpu.getSegBase(Cpu.DS));
    }

    @Test
    void stackSegmentLimitRaisesSs() {
        assertEquals(Cpu.SSV, runFlat("""
                mov ax, 0x20
                mov ss, ax
                mov esp, 0x1002
                push eax
                push eax
                hlt
                """));
        assertEquals(0, cpu.lastErrorCode());
    }

    @Test
    void expandDownSegment() {
        assertEquals(-1, runFlat("""
                mov ax, 0x28
                mov es, ax
                mov dword [es:0x1000], 5
                hlt
                """));
        assertEquals(5, mem.read32(0x21000));
        assertEquals(Cpu.GP, runFlat("""
                mov ax, 0x28
                mov es, ax
                mov dword [es:0x800], 5
                hlt
                """));
    }

    @Test
    void nullNotPresentAndPrivilegeChecks() {
        assertEquals(Cpu.GP, runFlat("""
                xor ax, ax
                mov ds, ax
                mov eax, [0]
                """), "null DS use");
        assertEquals(0, cpu.lastErrorCode());
        assertEquals(Cpu.NP, runFlat("""
                mov ax, 0x30
                mov ds, ax
                """));
        assertEquals(0x30, cpu.lastErrorCode());
        assertEquals(Cpu.GP, runFlat("""
                mov ax, 0x1000
                mov ds, ax
                """), "beyond the GDT limit");
        assertEquals(0x1000, cpu.lastErrorCode());
        assertEquals(Cpu.GP, runFlat("""
                mov ax, 0x10
                mov ss, ax
                """), "code segment into SS");
        assertEquals(0x10, cpu.lastErrorCode());
    }

    @Test
    void larLslVerrVerw() {
        assertEquals(-1, runFlat("""
                mov ax, 0x20
                lsl ebx, ax
                setz cl
                lar edx, ax
                mov ax, 0x10
                verw ax
                setz ch
                verr ax
                setz byte [0x5000]
                mov ax, 0x1000
                lsl esi, ax
                setnz byte [0x5001]
                hlt
                """));
        assertEquals(0xfff, reg(Cpu.EBX));
        assertEquals(1, reg(Cpu.ECX) & 0xff);
        assertEquals(0x00409200, reg(Cpu.EDX));
        assertEquals(0, (reg(Cpu.ECX) >>> 8) & 0xff, "code is not writable");
        assertEquals(1, mem.read8(0x5000), "readable code");
        assertEquals(1, mem.read8(0x5001), "bad selector clears ZF");
    }

    @Test
    void callGateToRingZeroWithParametersAndReturnToRingThree() {
        // call gate at 0x48: DPL 3, to 0x10:kernel, 2 dword parameters
        // TSS at 0x50 with esp0/ss0
        flat32(0x1000, """
                    mov ax, 0x50
                    ltr ax
                    push dword 0x43          ; SS (ring-3 data, RPL 3)
                    push dword 0x7000        ; ESP
                    push dword 0x3b          ; CS (ring-3 code, RPL 3)
                    push dword user
                    retf                     ; to ring 3
                user:
                    mov cx, 0x43
                    mov ds, cx
                    push dword 111
                    push dword 222
                    call 0x4b:0              ; through the gate (offset ignored)
                    mov [0x5100], eax
                    mov [0x5104], esp
                    hlt                      ; ring 3: #GP
                kernel:
                    mov eax, [esp + 8]       ; parameter 2 (222 pushed last is at esp+8)
                    add eax, [esp + 12]
                    mov ebx, [esp + 4]       ; caller CS
                    mov [0x5108], ebx
                    mov [0x510c], esp
                    retf 8
                """);
        int kernel = 0x1000 + indexOfKernel();
        // gate: selector 0x10, offset kernel, DPL 3, type 0xc, 2 params
        mem.write32(GDT + 9 * 8, (kernel & 0xffff) | (0x10 << 16));
        mem.write32(GDT + 9 * 8 + 4, (kernel & 0xffff0000) | 0xec00 | 2);
        desc(10, 0x4000, 0x67, 0x89, 0); // TSS
        mem.write32(0x4000 + 4, 0x9000); // esp0
        mem.write32(0x4000 + 8, 0x18); // ss0
        assertEquals(Cpu.GP, cpu.runTest(1000), cpu::stateString);
        assertEquals(333, mem.read32(0x5100), () -> "error " + cpu.lastErrorCode() + "\n" + cpu.stateString());
        assertEquals(0x3b, mem.read32(0x5108) & 0xffff, "caller CS on the inner stack");
        assertEquals(0x9000 - 16 - 8, mem.read32(0x510c), "inner stack: SS, ESP, 2 params, CS, EIP");
        assertEquals(0x7000 - 8 + 8, mem.read32(0x5104), "RETF 8 popped the parameters on the outer stack");
        assertEquals(3, cpu.getCpl());
    }

    /** Offset of the first {@code mov eax, [esp + 8]} (the kernel entry) in the loaded code. */
    private int indexOfKernel() {
        byte[] code = new byte[0x200];
        mem.read(0x1000, code, 0, code.length);
        for (int i = 0; i + 4 <= code.length; i++) {
            if (code[i] == (byte) 0x8b && code[i + 1] == 0x44 && code[i + 2] == 0x24 && code[i + 3] == 0x08) {
                return i;
            }
        }
        throw new AssertionError("kernel entry not found");
    }

    @Test
    void sixteenBitOperandAndAddressSizeIn32BitCode() {
        assertEquals(-1, runFlat("""
                mov dword [0x3004], 0x12345678
                mov ebx, 0x3000
                mov esi, 2
                a16 mov ax, [bx+si+2]
                o16 push ax
                pop cx
                mov edx, 0xffffffff
                o16 inc dx
                hlt
                """));
        assertEquals(0x5678, reg(Cpu.EAX) & 0xffff);
        assertEquals(0x5678, reg(Cpu.ECX) & 0xffff);
        assertEquals(0xffff0000, reg(Cpu.EDX), "16-bit INC wraps inside DX only");
        assertTrue(flag(Cpu.ZF));
    }

    @Test
    void paePagingWithTwoMegabytePagesAndFaults() {
        // PDPT at 0x20000, PD at 0x21000: PDE0 = 2 MiB identity page; PDE1 -> PT at 0x22000
        mem.write32(0x20000, 0x21001);
        mem.write32(0x21000, 0x83);
        mem.write32(0x21008, 0x22003);
        mem.write32(0x22000 + 8 * 5, 0x7000 | 0x7); // 0x205000 -> 0x7000 (user, rw)
        assertEquals(Cpu.PFV, runFlat("""
                mov eax, 0x20
                mov cr4, eax            ; PAE
                mov eax, 0x20000
                mov cr3, eax
                mov eax, cr0
                or eax, 0x80000000
                mov cr0, eax
                mov dword [0x205010], 0xabcd
                mov eax, [0x206000]     ; not present
                hlt
                """));
        assertEquals(0xabcd, mem.read32(0x7010), "4 KiB PAE page mapped");
        assertEquals(0x206000, cpu.getCr(2));
        assertEquals(0, cpu.lastErrorCode(), "read, not present, supervisor");
        assertTrue((mem.read32(0x22000 + 8 * 5) & 0x60) == 0x60, "accessed and dirty");
    }

    @Test
    void builderLoadSegmentChecksDescriptors() {
        cpu.enterFlatProtectedMode32(0);
        cpu.loadSegment(Cpu.CS, 0x10);
        cpu.loadSegment(Cpu.DS, 0x20);
        assertEquals(0x10000, cpu.getSegBase(Cpu.DS));
        assertEquals(0xfff, cpu.getSegLimit(Cpu.DS));
        assertThrows(IllegalArgumentException.class, () -> cpu.loadSegment(Cpu.SS, 0x10));
    }
}
