package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Integer ALU, flags, multiply/divide, BCD, bit operations, CMOV/SETcc, CMPXCHG/XADD. */
class AluTest extends CpuTestSupport {

    @Test
    void addSetsCarryZeroAndOverflow() {
        flat32(0x1000, """
                mov eax, 0xffffffff
                add eax, 1
                hlt
                """);
        runToHlt();
        assertEquals(0, reg(Cpu.EAX));
        assertTrue(flag(Cpu.CF));
        assertTrue(flag(Cpu.ZF));
        assertFalse(flag(Cpu.OF));
        assertTrue(flag(Cpu.AF));
        assertTrue(flag(Cpu.PF));

        flat32(0x1000, """
                mov al, 0x7f
                add al, 1
                hlt
                """);
        runToHlt();
        assertEquals(0x80, reg(Cpu.EAX) & 0xff);
        assertTrue(flag(Cpu.OF));
        assertTrue(flag(Cpu.SF));
        assertFalse(flag(Cpu.CF));
    }

    @Test
    void subtractWithBorrowChain() {
        // 64-bit subtraction 0x1_00000000 - 1 through SUB/SBB
        flat32(0x1000, """
                mov eax, 0
                mov edx, 1
                sub eax, 1
                sbb edx, 0
                hlt
                """);
        runToHlt();
        assertEquals(0xffffffff, reg(Cpu.EAX));
        assertEquals(0, reg(Cpu.EDX));
        assertTrue(flag(Cpu.ZF));
        assertFalse(flag(Cpu.CF));
    }

    @Test
    void incDecPreserveCarry() {
        flat32(0x1000, """
                stc
                mov ecx, 0xffffffff
                inc ecx
                hlt
                """);
        runToHlt();
        assertEquals(0, reg(Cpu.ECX));
        assertTrue(flag(Cpu.CF), "INC keeps CF");
        assertTrue(flag(Cpu.ZF));
        flat32(0x1000, """
                clc
                mov cx, 0x8000
                dec cx
                hlt
                """);
        runToHlt();
        assertEquals(0x7fff, reg(Cpu.ECX) & 0xffff);
        assertFalse(flag(Cpu.CF));
        assertTrue(flag(Cpu.OF));
    }

    @Test
    void logicClearsCarryAndOverflowAndJccFollowsFlags() {
        flat32(0x1000, """
                mov eax, 5
                xor ebx, ebx
                cmp eax, 7
                jl less
                mov ebx, 1
                hlt
            less:
                mov ebx, 2
                and eax, 4
                jz wrong
                test eax, 0x80000000
                jnz wrong
                hlt
            wrong:
                mov ebx, 3
                hlt
                """);
        runToHlt();
        assertEquals(2, reg(Cpu.EBX));
        assertEquals(4, reg(Cpu.EAX));
        assertFalse(flag(Cpu.CF));
        assertFalse(flag(Cpu.OF));
    }

    @Test
    void multiplyAndDivide() {
        flat32(0x1000, """
                mov eax, 0x12345678
                mov ecx, 0x100
                mul ecx
                mov esi, eax
                mov edi, edx
                mov eax, -7
                cdq
                mov ecx, 2
                idiv ecx
                imul ebx, ecx, -3
                hlt
                """);
        runToHlt();
        assertEquals(0x34567800, reg(Cpu.ESI));
        assertEquals(0x12, reg(Cpu.EDI));
        assertEquals(-3, reg(Cpu.EAX));
        assertEquals(-1, reg(Cpu.EDX));
        assertEquals(-6, reg(Cpu.EBX));
    }

    @Test
    void divideByZeroRaisesDivideError() {
        flat32(0x1000, """
                xor ecx, ecx
                mov eax, 1
                div ecx
                hlt
                """);
        assertEquals(Cpu.DE, cpu.runTest(100));
        assertEquals(0x1000 + 4 /* xor(2)+mov? */ + 3, cpu.getEip(), "EIP stays at the faulting DIV");
    }

    @Test
    void divideOverflowRaisesDivideError() {
        flat32(0x1000, """
                mov edx, 2
                mov eax, 0
                mov ecx, 2
                div ecx
                hlt
                """);
        assertEquals(Cpu.DE, cpu.runTest(100));
    }

    @Test
    void shiftsAndRotates() {
        flat32(0x1000, """
                mov eax, 0x80000001
                shl eax, 1
                setc bl
                mov ecx, 0x80000000
                sar ecx, 4
                mov edx, 0x12345678
                rol edx, 8
                mov esi, 1
                stc
                rcr esi, 1
                mov edi, 0x0000ffff
                shld edi, ecx, 4
                hlt
                """);
        runToHlt();
        assertEquals(2, reg(Cpu.EAX));
        assertEquals(1, reg(Cpu.EBX) & 0xff);
        assertEquals(0xf8000000, reg(Cpu.ECX));
        assertEquals(0x34567812, reg(Cpu.EDX));
        assertEquals(0x80000000, reg(Cpu.ESI));
        assertFalse(flag(Cpu.CF), "SHLD shifted out a 0");
        assertEquals(0x000ffff0 | 0xf, reg(Cpu.EDI));
    }

    @Test
    void bcdAdjust() {
        flat32(0x1000, """
                mov al, 0x19
                add al, 0x28
                daa
                mov bl, al
                mov al, 0x10
                sub al, 0x01
                das
                mov bh, al
                mov ax, 0x0009
                add al, 5
                aaa
                hlt
                """);
        runToHlt();
        assertEquals(0x47, reg(Cpu.EBX) & 0xff);
        assertEquals(0x09, (reg(Cpu.EBX) >>> 8) & 0xff);
        assertEquals(0x0104, reg(Cpu.EAX) & 0xffff);
    }

    @Test
    void bitOpsScansCmovSetcc() {
        flat32(0x1000, """
                mov eax, 0x00f0
                bsf ecx, eax
                bsr edx, eax
                bts eax, 0
                setc bl
                btr eax, 4
                mov esi, 111
                mov edi, 222
                cmp esi, edi
                cmovb esi, edi
                hlt
                """);
        runToHlt();
        assertEquals(4, reg(Cpu.ECX));
        assertEquals(7, reg(Cpu.EDX));
        assertEquals(0xe1, reg(Cpu.EAX));
        assertEquals(0, reg(Cpu.EBX) & 0xff);
        assertEquals(222, reg(Cpu.ESI));
    }

    @Test
    void cmpxchgXaddBswapCmpxchg8b() {
        flat32(0x1000, """
                mov dword [0x3000], 5
                mov eax, 5
                mov ecx, 9
                lock cmpxchg [0x3000], ecx
                setz bl
                mov eax, 1
                lock xadd [0x3000], eax
                mov esi, 0x11223344
                bswap esi
                mov dword [0x3100], 1
                mov dword [0x3104], 2
                mov eax, 1
                mov edx, 2
                mov ebx, 0xaaaa
                mov ecx, 0xbbbb
                cmpxchg8b [0x3100]
                hlt
                """);
        runToHlt();
        assertEquals(10, mem.read32(0x3000));
        assertEquals(0x44332211, reg(Cpu.ESI));
        assertEquals(0xaaaa, mem.read32(0x3100));
        assertEquals(0xbbbb, mem.read32(0x3104));
        assertTrue(flag(Cpu.ZF));
    }

    @Test
    void invalidOpcodeRaisesUd() {
        flat32(0x1000, """
                nop
                ud2
                """);
        assertEquals(Cpu.UD, cpu.runTest(10));
        assertEquals(0x1001, cpu.getEip());
    }

    @Test
    void pushPopCallRetEnterLeave() {
        flat32(0x1000, """
                mov esp, 0x8000
                push 0x1234
                call fn
                pop ecx
                pushad
                mov eax, 0
                popad
                hlt
            fn:
                enter 8, 0
                mov eax, [ebp+8]
                mov dword [ebp-4], 77
                mov ebx, [ebp-4]
                leave
                ret
                """);
        runToHlt();
        assertEquals(0x1234, reg(Cpu.EAX));
        assertEquals(77, reg(Cpu.EBX));
        assertEquals(0x1234, reg(Cpu.ECX));
        assertEquals(0x8000, reg(Cpu.ESP));
    }
}
