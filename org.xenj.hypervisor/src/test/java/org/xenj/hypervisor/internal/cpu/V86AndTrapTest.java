package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Single-step traps (EFLAGS.TF), virtual-8086 mode entry by IRET and its #GP exit to ring 0. */
class V86AndTrapTest extends CpuTestSupport {

    /** GDT (0x10 code, 0x18 data, 0x20 TSS), IDT entries 1 and 13, TSS with esp0 = 0x9000. */
    private static final String TABLES = """
                align 8
            gdt: dq 0, 0
                dq 0x00cf9a000000ffff
                dq 0x00cf92000000ffff
                dw 0x67, tss, 0x8900, 0
            gdtr: dw 39
                dd gdt
                align 8
            idt: times 1 dq 0
                dw db_handler, 0x10, 0x8e00, 0
                times 11 dq 0
                dw gp_handler, 0x10, 0x8e00, 0
            idtr: dw 14 * 8 - 1
                dd idt
                align 16
            tss: dd 0, 0x9000, 0x18
                times 23 dd 0
                dw 0, 0x68
            """;

    private static final String PROLOGUE = """
                lgdt [gdtr]
                lidt [idtr]
                mov ax, 0x20
                ltr ax
            """;

    @Test
    void trapFlagRaisesDebugAfterEachInstruction() {
        flat32(0x1000, PROLOGUE + """
                    pushfd
                    or dword [esp], 0x100
                    popfd                   ; TF on: the next instruction traps
                    nop
                    nop
                    nop
                    pushfd
                    and dword [esp], ~0x100
                    popfd                   ; still traps: TF was set when it started
                    mov eax, [0x5000]
                    hlt
                db_handler:
                    inc dword [0x5000]
                    iretd
                gp_handler:
                    hlt
                """ + TABLES);
        runDeliveringToHlt();
        assertEquals(6, reg(Cpu.EAX), "three NOPs, PUSHFD, AND, POPFD");
        assertTrue((cpu.getDr(6) & 0x4000) != 0, "DR6.BS");
    }

    @Test
    void iretToVirtual8086AndGeneralProtectionExitOnInt() {
        flat32(0x1000, PROLOGUE + """
                    push dword 0            ; GS
                    push dword 0            ; FS
                    push dword 0x300        ; DS
                    push dword 0            ; ES
                    push dword 0x400        ; SS
                    push dword 0x100        ; SP
                    push dword 0x20002      ; EFLAGS: VM, IOPL 0
                    push dword 0x200        ; CS
                    push dword 0            ; IP
                    iretd
                gp_handler:
                    mov ax, 0x18
                    mov ds, ax
                    pop dword [0x5000]      ; error code
                    pop dword [0x5004]      ; IP
                    pop dword [0x5008]      ; CS
                    pop dword [0x500c]      ; EFLAGS
                    pop dword [0x5010]      ; SP
                    pop dword [0x5014]      ; SS
                    pop dword [0x5018]      ; ES
                    pop dword [0x501c]      ; DS
                    hlt
                db_handler:
                    hlt
                """ + TABLES);
        byte[] v86 = asm("""
                bits 16
                org 0
                    mov ax, 0x1234
                    mov [0x10], ax          ; DS=0x300: linear 0x3010
                    push ax                 ; SS=0x400: linear 0x40fe
                    int 0x21                ; IOPL 0: #GP(0) to the ring-0 monitor
                """);
        load(0x2000, v86);
        runDeliveringToHlt();
        assertEquals(0x1234, mem.read16(0x3010), "v86 data segment = selector * 16");
        assertEquals(0x1234, mem.read16(0x40fe), "v86 stack");
        assertEquals(0, mem.read32(0x5000), "#GP(0)");
        assertEquals(7, mem.read32(0x5004), "IP of the INT (3 + 3 + 1 bytes in)");
        assertEquals(0x200, mem.read32(0x5008));
        assertTrue((mem.read32(0x500c) & Cpu.VM) != 0, "VM set in the saved EFLAGS");
        assertEquals(0xfe, mem.read32(0x5010));
        assertEquals(0x400, mem.read32(0x5014));
        assertEquals(0x300, mem.read32(0x501c), "v86 DS saved on the ring-0 stack");
        assertEquals(0, cpu.getCpl());
    }
}
