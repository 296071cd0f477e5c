package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Big real mode: real mode entered from protected mode keeps the descriptor caches' 4 GiB limits
 * (SDM vol. 3 §21.1 "Real-address mode": a segment load in real mode changes only selector and
 * base). A conformance suite's {@code o32 call} / {@code o32 ret} there ran off into zeroed memory:
 * the emulator truncated the sequential EIP to 16 bits in 16-bit code, so the first instruction of a
 * routine above 64 KiB ran and the second was fetched at (EIP &amp; 0xFFFF). Since the 80386 the
 * instruction pointer is EIP (SDM vol. 2 CALL/RET: only a 16-bit operand size truncates tempEIP;
 * vol. 3 §22.1.2 on the 8086's wrap-around at 0xFFFF becoming a #GP), so execution goes on above
 * 64 KiB when the CS limit allows it and raises #GP when it does not.
 */
class BigRealModeTest extends CpuTestSupport {

    /** Protected mode -> 16-bit code (CS limit 64 KiB or 4 GiB) -> CR0.PE=0 -> real mode at 0:0x3000. */
    private void enterBigRealMode(boolean bigCs) {
        load(0x1000, asm("""
                bits 32
                org 0x1000
                    lgdt [gdtr]
                    mov ax, 0x18
                    mov ds, ax
                    mov es, ax
                    mov ss, ax
                    jmp CS16:pm16
                bits 16
                pm16:
                    mov eax, cr0
                    and al, 0xfe
                    mov cr0, eax
                    jmp 0x0000:rm
                rm:
                    xor ax, ax
                    mov ds, ax
                    mov ss, ax
                    mov es, ax
                    mov esp, 0x7000
                    jmp 0x3000
                align 8
                gdt: dq 0, 0
                    dq 0x00cf9a000000ffff       ; 0x10 flat 32-bit code
                    dq 0x00cf92000000ffff       ; 0x18 flat data, 4 GiB
                    dq 0x00009a000000ffff       ; 0x20 16-bit code, 64 KiB
                    dq 0x008f9a000000ffff       ; 0x28 16-bit code, 4 GiB
                gdtr: dw 47
                    dd gdt
                """.replace("CS16", bigCs ? "0x28" : "0x20")));
        cpu.enterFlatProtectedMode32(0);
        cpu.setEip(0x1000);
        cpu.setReg32(Cpu.ESP, 0x8000);
    }

    @Test
    void o32CallAndRetAbove64KiBRunSequentially() {
        enterBigRealMode(true);
        // nasm note: "o32 call label" in bits 16 emits 66 E8 with a 16-bit displacement (the next
        // instruction's bytes then complete the rel32); "call dword" emits the rel32 the CPU reads.
        load(0x3000, asm("""
                bits 16
                org 0x3000
                    xor ebx, ebx
                    call dword 0x12000
                    inc ebx
                    call dword 0x12000
                    inc ebx
                    hlt
                """));
        load(0x12000, asm("""
                bits 16
                org 0x12000
                    add ebx, 0x10
                    add ebx, 0x100
                    o32 ret
                """));
        assertEquals(-1, cpu.runTest(1000), () -> cpu.stateString());
        assertEquals(0x222, reg(Cpu.EBX), "both calls ran the whole routine above 64 KiB");
        assertEquals(0x7000, reg(Cpu.ESP));
        assertEquals(0, cpu.getCr0() & Cpu.CR0_PE, "real mode");
        assertEquals(0xffffffff, cpu.getSegLimit(Cpu.CS), "big real mode: CS kept its 4 GiB limit");
    }

    @Test
    void o32CallBeyondARealModeLimitFaultsAtTheCall() {
        enterBigRealMode(false);
        load(0x3000, asm("""
                bits 16
                org 0x3000
                    nop
                    call dword 0x12000
                    hlt
                """));
        assertEquals(Cpu.GP, cpu.runTest(1000));
        assertEquals(0x3001, cpu.getEip(), "#GP(0) at the CALL, not at its target (SDM CALL: tempEIP beyond the limit)");
        assertEquals(0x7000, reg(Cpu.ESP), "nothing pushed");
        assertEquals(0, cpu.lastErrorCode());
    }

    @Test
    void runningPastOffset0xFFFFIsAFaultNotAWrap() {
        enterBigRealMode(false);
        load(0x3000, asm("bits 16\norg 0x3000\njmp 0xfffe\n"));
        mem.write8(0xfffe, 0x90); // nop at 0xFFFE
        mem.write8(0xffff, 0x90); // nop at 0xFFFF: the next EIP, 0x10000, lies beyond the limit
        mem.write8(0x0000, 0xf4); // what an 8086-style wrap would run
        assertEquals(Cpu.GP, cpu.runTest(1000));
        assertEquals(0x10000, cpu.getEip(), "the fetch at EIP 0x10000 faults");
    }

    @Test
    void returnToAnAddressBeyondTheLimitFaultsWithTheStackUnchanged() {
        enterBigRealMode(false);
        load(0x3000, asm("""
                bits 16
                org 0x3000
                    push dword 0x00012345
                    o32 ret
                """));
        assertEquals(Cpu.GP, cpu.runTest(1000));
        assertEquals(0x3006, cpu.getEip(), "#GP at the RET");
        assertEquals(0x6ffc, reg(Cpu.ESP), "RET did not pop");
    }
}
