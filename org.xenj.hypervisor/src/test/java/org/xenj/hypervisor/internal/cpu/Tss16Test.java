package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Task switches through 16-bit TSSs (Intel SDM vol. 3 §8.6 "16-Bit Task-State Segment (TSS)" and
 * §8.3 "Task Switching"): the 44-byte layout (IP, FLAGS, AX..DI, ES, CS, SS, DS, LDT selector), busy
 * bits, the back link and NT on CALL, and IRET back. A conformance suite found a task gate to a
 * 16-bit TSS answering #GP.
 */
class Tss16Test extends CpuTestSupport {

    static final int TSS_A = 0x4000, TSS_B = 0x4100;


    @BeforeEach
    void tables() {
        desc(2, 0, 0xfffff, 0x9a, 0xc); // 0x10 code
        desc(3, 0, 0xfffff, 0x92, 0xc); // 0x18 data
        desc(4, TSS_A, 0x2b, 0x81, 0);  // 0x20 16-bit TSS, available (the current task after LTR)
        desc(5, TSS_B, 0x2b, 0x81, 0);  // 0x28 16-bit TSS, available
        desc(6, 0, 0, 0x85, 0);          // 0x30 task gate...
        mem.write32(GDT + 6 * 8, 0x0028_0000); // ...to selector 0x28
        cpu.setGdtr(GDT, 0x3f);
        // task B: IP 0x2000, FLAGS 0x0002, AX..DI, ES CS SS DS, LDT 0
        mem.write16(TSS_B + 0x0e, 0x2000);
        mem.write16(TSS_B + 0x10, 0x0002);
        int[] gprs = {0x1111, 0x2222, 0x3333, 0x4444, 0x8000, 0x6666, 0x7777, 0x8888};
        for (int i = 0; i < 8; i++) {
            mem.write16(TSS_B + 0x12 + 2 * i, gprs[i]);
        }
        mem.write16(TSS_B + 0x22, 0x18); // ES
        mem.write16(TSS_B + 0x24, 0x10); // CS
        mem.write16(TSS_B + 0x26, 0x18); // SS
        mem.write16(TSS_B + 0x28, 0x18); // DS
        mem.write16(TSS_B + 0x2a, 0);    // LDT
    }

    private void taskB(String body) {
        load(0x2000, asm("bits 32\norg 0x2000\n" + body + "\n"));
    }

    @Test
    void jmpToA16BitTssLoadsItsState() {
        taskB("mov [0x3000], eax\nhlt");
        flat32(0x1000, """
                mov ax, 0x20
                ltr ax
                mov eax, 0xabcd1234
                jmp 0x28:0
                """);
        runToHlt();
        assertEquals(0xffff1111, mem.read32(0x3000), "AX from the TSS, upper half 0xFFFF as in Bochs");
        assertEquals(0xffff8000, reg(Cpu.ESP));
        assertEquals(0x28, cpu.trSel);
        // the old task's state went into its 16-bit TSS: IP after the JMP, AX = 0x1234
        assertEquals(0x1234, mem.read16(TSS_A + 0x12));
        assertEquals(0x10, mem.read16(TSS_A + 0x24), "old CS");
        assertEquals(0x81, mem.read8(GDT + 4 * 8 + 5) & 0xff, "JMP clears the old task's busy bit");
        assertEquals(0x83, mem.read8(GDT + 5 * 8 + 5) & 0xff, "the new task is busy");
    }

    @Test
    void callThroughATaskGateAndIretBack() {
        taskB("mov [0x3000], ebx\niret");
        flat32(0x1000, """
                mov ax, 0x20
                ltr ax
                mov ebx, 0x5555
                call 0x30:0
                mov [0x3004], ebx
                hlt
                """);
        runToHlt();
        assertEquals(0xffff4444, mem.read32(0x3000), "task B ran with its own BX");
        assertEquals(0x5555, mem.read32(0x3004) & 0xffff, "IRET restored task A's BX from its 16-bit TSS");
        assertEquals(0x20, mem.read16(TSS_B), "the back link names task A");
        assertEquals(0x20, cpu.trSel, "back in task A");
        assertEquals(0x81, mem.read8(GDT + 5 * 8 + 5) & 0xff, "IRET leaves task B available");
    }
}
