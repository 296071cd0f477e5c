package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * System-level defects a conformance suite run outside the project found, each against the manual's
 * pseudo-code (the host-CPU oracle cannot reach them: they need 16-bit stacks and ring 0):
 * POP SS with a 32-bit operand on a 16-bit stack, ENTER's frame temporary with a 32-bit operand on a
 * 16-bit stack, and the LOCK prefix's #UD.
 */
class StackAndPrefixConformanceTest extends CpuTestSupport {


    @BeforeEach
    void gdt() {
        desc(2, 0, 0xfffff, 0x9a, 0xc); // 0x10 flat 32-bit code
        desc(3, 0, 0xfffff, 0x92, 0xc); // 0x18 flat 32-bit data (B=1: 32-bit stack)
        desc(4, 0, 0xfffff, 0x92, 0x8); // 0x20 flat data with B=0: a 16-bit stack
        cpu.setGdtr(GDT, 0x7f);
    }

    /**
     * Intel SDM vol. 2B "POP—Pop a Value From the Stack": the stack pointer is incremented by the
     * operand size using the StackAddrSize of the stack the value was read from. POP SS from a 16-bit
     * stack that loads a 32-bit (B=1) SS must update SP, not ESP.
     */
    @Test
    void popSsUsesTheOldStackSize() {
        flat32(0x1000, """
                mov ax, 0x20
                mov ss, ax
                mov esp, 0x0002fffc
                mov dword [0xfffc], 0x18   ; a 16-bit stack is addressed by SP alone
                pop ss
                hlt
                """);
        runToHlt();
        // 16-bit increment of SP: 0xfffc + 4 wraps to 0x0000 inside the upper half 0x0002
        assertEquals(0x00020000, reg(Cpu.ESP));
        assertEquals(0x18, cpu.getSegSelector(Cpu.SS));
    }

    /**
     * Intel SDM vol. 2A "ENTER": with a 32-bit operand size EBP is pushed whole and FrameTemp is ESP
     * (not SP), so on a 16-bit stack EBP ends up with ESP's upper half, not truncated to 16 bits.
     */
    @Test
    void enterWith32BitOperandOnA16BitStackKeepsTheUpperHalf() {
        flat32(0x1000, """
                mov ax, 0x20
                mov ss, ax
                mov esp, 0x00031000
                mov ebp, 0x12345678
                enter 8, 0
                hlt
                """);
        runToHlt();
        assertEquals(0x00030ff4, reg(Cpu.ESP), "push and allocation move SP within ESP's upper half");
        assertEquals(0x00030ffc, reg(Cpu.EBP), "FrameTemp follows the operand size (ESP)");
        assertEquals(0x12345678, mem.read32(0x0ffc), "the whole EBP was pushed, at SS:SP");
    }

    /** Intel SDM vol. 2A §2.3.11 "AVX Instruction Length" / §2.1: an instruction longer than 15 bytes is #GP(0). */
    @Test
    void instructionsLongerThan15BytesFault() {
        flat32(0x1000, "times 14 db 0x66\nnop\nhlt\n"); // 15 bytes: fine
        assertEquals(-1, cpu.runTest(100));
        flat32(0x1000, "times 15 db 0x66\nnop\nhlt\n"); // 16 bytes
        assertEquals(Cpu.GP, cpu.runTest(100));
        assertEquals(0, cpu.lastErrorCode());
        assertEquals(0x1000, cpu.getEip(), "a fault at the instruction's first byte");
        flat32(0x1000, "times 10 db 0x3e\nadd dword [0x2000], 0x12345678\nhlt\n"); // 10 + 10 bytes
        assertEquals(Cpu.GP, cpu.runTest(100));
    }

    /** Intel SDM vol. 2A "LOCK—Assert LOCK# Signal Prefix": #UD outside the lockable memory forms. */
    @Test
    void lockPrefixFaultsOutsideLockableMemoryForms() {
        String[] undefined = {"lock mov [0x2000], eax", "lock add eax, ebx", "lock cmp [0x2000], eax", "lock nop",
            "lock inc eax", "lock xchg eax, ebx", "lock bt [0x2000], eax"};
        for (String insn : undefined) {
            flat32(0x1000, insn + "\nhlt\n");
            assertEquals(Cpu.UD, cpu.runTest(100), insn);
            assertEquals(0x1000, cpu.getEip(), insn + ": #UD is a fault at the instruction");
        }
        String[] lockable = {"lock add [0x2000], eax", "lock or dword [0x2000], 1", "lock xchg [0x2000], eax",
            "lock inc dword [0x2000]", "lock not dword [0x2000]", "lock neg dword [0x2000]", "lock bts [0x2000], eax",
            "lock btc dword [0x2000], 3", "lock cmpxchg [0x2000], ebx", "lock xadd [0x2000], ecx",
            "lock cmpxchg8b [0x2000]", "lock sbb [0x2000], eax"};
        for (String insn : lockable) {
            flat32(0x1000, insn + "\nhlt\n");
            assertEquals(-1, cpu.runTest(100), insn);
        }
    }
}
