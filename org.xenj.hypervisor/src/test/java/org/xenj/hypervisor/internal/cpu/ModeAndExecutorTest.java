package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;

/** Real mode, the switch to protected mode, self-modifying code, string ops, CPUID/MSRs and the executor. */
class ModeAndExecutorTest extends CpuTestSupport {

    @Test
    void powerOnStateIsRealModeAtResetVector() {
        assertEquals(0xf000, cpu.getSegSelector(Cpu.CS));
        assertEquals(0xffff0000, cpu.getSegBase(Cpu.CS));
        assertEquals(0xfff0, cpu.getEip());
        assertEquals(0, cpu.getCr(0) & Cpu.CR0_PE);
    }

    @Test
    void realModeSwitchesToProtectedModeThroughFarJump() {
        byte[] code = asm("""
                bits 16
                org 0x7c00
                    cli
                    xor ax, ax
                    mov ds, ax
                    mov word [0x500], 0x1234     ; real-mode store
                    int 0x40                     ; through the IVT
                    lgdt [gdtr]
                    mov eax, cr0
                    or al, 1
                    mov cr0, eax
                    jmp 0x08:pm
                handler:
                    mov bx, 0x4242
                    iret
                bits 32
                pm:
                    mov ax, 0x10
                    mov ds, ax
                    mov ss, ax
                    mov esp, 0x9000
                    mov dword [0x200000], 0xdeadbeef   ; above 1 MiB: 32-bit flat data
                    hlt
                align 8
                gdt: dq 0
                    dq 0x00cf9a000000ffff
                    dq 0x00cf92000000ffff
                gdtr: dw 23
                    dd gdt
                """);
        load(0x7c00, code);
        // IVT entry 0x40 -> 0000:handler
        int handler = 0x7c00 + indexOf(code, new byte[] {(byte) 0xbb, 0x42, 0x42});
        mem.write16(0x40 * 4, handler);
        mem.write16(0x40 * 4 + 2, 0);
        cpu.loadSegment(Cpu.CS, 0);
        cpu.setEip(0x7c00);
        cpu.setReg32(Cpu.ESP, 0x7000);
        loadSS0();
        runDeliveringToHlt();
        assertEquals(0x1234, mem.read16(0x500));
        assertEquals(0x4242, reg(Cpu.EBX) & 0xffff, "INT through the IVT and IRET back");
        assertEquals(0xdeadbeef, mem.read32(0x200000));
        assertEquals(0x08, cpu.getSegSelector(Cpu.CS));
        assertEquals(1, cpu.getCr(0) & Cpu.CR0_PE);
    }

    @Test
    void protectedModeBackToRealModeAndUnrealSegments() {
        // 32-bit flat -> 16-bit protected code segment -> clear PE -> real-mode far jump; FS keeps its 4 GiB limit
        byte[] code = asm("""
                bits 32
                org 0x1000
                    lgdt [gdtr]
                    mov ax, 0x18
                    mov fs, ax
                    jmp 0x20:pm16
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
                    mov sp, 0x7000
                    mov ebx, 0x300000
                    mov dword [fs:ebx], 0x600dbeef   ; unreal mode: FS limit still 4 GiB
                    mov word [0x600], 0x55aa
                    int 0x40
                    hlt
                handler:
                    mov bx, 0x4242
                    iret
                align 8
                gdt: dq 0, 0
                    dq 0x00cf9a000000ffff
                    dq 0x00cf92000000ffff
                    dq 0x00009a000000ffff       ; 0x20: 16-bit code, base 0
                gdtr: dw 39
                    dd gdt
                """);
        load(0x1000, code);
        int handler = 0x1000 + indexOf(code, new byte[] {(byte) 0xbb, 0x42, 0x42});
        mem.write16(0x40 * 4, handler);
        mem.write16(0x40 * 4 + 2, 0);
        cpu.enterFlatProtectedMode32(0);
        cpu.setEip(0x1000);
        cpu.setReg32(Cpu.ESP, 0x8000);
        runDeliveringToHlt();
        assertEquals(0, cpu.getCr(0) & Cpu.CR0_PE);
        assertEquals(0x600dbeef, mem.read32(0x300000));
        assertEquals(0x55aa, mem.read16(0x600));
        assertEquals(0x4242, reg(Cpu.EBX) & 0xffff, "INT through the IVT after returning to real mode");
        assertEquals(0, cpu.getSegSelector(Cpu.CS));
    }

    private void loadSS0() {
        cpu.loadSegment(Cpu.SS, 0);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("pattern not found");
    }

    @Test
    void selfModifyingCodeSeesItsOwnStores() {
        flat32(0x1000, """
                    mov ecx, 3
                again:
                    mov byte [patch + 1], 0x99   ; rewrite the immediate of the next MOV
                patch:
                    mov eax, 0x11
                    add ebx, eax
                    mov byte [patch + 1], 0x11
                    loop again
                    hlt
                """);
        runToHlt();
        assertEquals(3 * 0x99, reg(Cpu.EBX));
    }

    @Test
    void stringOpsBothDirectionsAndRepConditions() {
        flat32(0x1000, """
                    cld
                    mov edi, 0x3000
                    mov eax, 0x01020304
                    mov ecx, 2000
                    rep stosd                    ; 8000 bytes, crosses pages
                    mov esi, 0x3000
                    mov edi, 0x6000
                    mov ecx, 8000
                    rep movsb
                    std
                    mov esi, 0x3003
                    mov edi, 0x9003
                    mov ecx, 4
                    rep movsb                    ; backwards copy of one dword
                    cld
                    mov byte [0x6010], 0xee
                    mov esi, 0x3000
                    mov edi, 0x6000
                    mov ecx, 100
                    repe cmpsb                   ; stops after the mismatch at 0x10
                    mov ebx, ecx
                    mov edi, 0x6000
                    mov al, 0xee
                    mov ecx, 100
                    repne scasb
                    mov edx, edi
                    hlt
                """);
        runToHlt();
        assertEquals(0x01020304, mem.read32(0x3000 + 7996));
        assertEquals(0x01020304, mem.read32(0x6000 + 7996));
        assertEquals(0x01020304, mem.read32(0x9000));
        assertEquals(100 - 17, reg(Cpu.EBX));
        assertEquals(0x6011, reg(Cpu.EDX));
        assertEquals(0, reg(Cpu.ECX) == 0 ? 1 : 0);
    }

    @Test
    void overlappingForwardMovsReplicatesLikeHardware() {
        flat32(0x1000, """
                    mov dword [0x3000], 0x000000ab
                    mov esi, 0x3000
                    mov edi, 0x3001
                    mov ecx, 16
                    rep movsb
                    hlt
                """);
        runToHlt();
        for (int i = 0; i < 17; i++) {
            assertEquals(0xab, mem.read8(0x3000 + i), "byte " + i);
        }
    }

    @Test
    void cpuidAdvertisesImplementedFeaturesOnly() {
        flat32(0x1000, """
                    mov eax, 1
                    cpuid
                    hlt
                """);
        runToHlt();
        assertEquals(6, (reg(Cpu.EAX) >>> 8) & 0xf, "family 6");
        int edx = reg(Cpu.EDX);
        assertTrue((edx & (1 << 15)) != 0, "CMOV");
        assertTrue((edx & (1 << 8)) != 0, "CX8");
        assertTrue((edx & (1 << 6)) != 0, "PAE");
        assertTrue((edx & (1 << 11)) != 0, "SEP");
        assertFalse((edx & (1 << 25)) != 0, "no SSE");
        assertFalse((edx & (1 << 9)) != 0, "no APIC unless the platform has one");
        assertFalse((edx & 1) != 0, "no FPU without an x87 unit");
    }

    @Test
    void msrsAndUnknownMsrFaults() {
        flat32(0x1000, """
                    mov ecx, 0x174
                    mov eax, 0x60
                    xor edx, edx
                    wrmsr
                    mov ecx, 0xfe
                    rdmsr
                    mov esi, eax
                    mov ecx, 0x12345
                    rdmsr
                    hlt
                """);
        assertEquals(Cpu.GP, cpu.runTest(100));
        assertEquals(0x508, reg(Cpu.ESI), "MTRRcap");
    }

    @Test
    void sysenterAndSysexit() {
        flat32(0x1000, """
                    mov ecx, 0x174
                    mov eax, 0x10
                    xor edx, edx
                    wrmsr
                    mov ecx, 0x175
                    mov eax, 0x8000
                    wrmsr
                    mov ecx, 0x176
                    mov eax, kernel
                    wrmsr
                    mov ecx, 0x7000
                    mov edx, user
                    sysexit
                user:
                    mov ebx, 1
                    sysenter
                kernel:
                    hlt
                """);
        runToHlt();
        assertEquals(1, reg(Cpu.EBX));
        assertEquals(0, cpu.getCpl());
        assertEquals(0x10, cpu.getSegSelector(Cpu.CS));
        assertEquals(0x18, cpu.getSegSelector(Cpu.SS));
        assertEquals(0x8000, reg(Cpu.ESP));
    }

    @Test
    void haltBlocksUntilAnInterruptArrives() {
        flat32(0x1000, """
                    lgdt [gdtr]
                    lidt [idtr]
                    sti
                    hlt
                    mov eax, [0x5000]
                    cli
                    hlt
                handler:
                    mov dword [0x5000], 0x77
                    iretd
                align 8
                idt: times 0x30 dq 0
                    dw handler, 0x10
                    db 0, 0x8e
                    dw 0
                idt_end:
                idtr: dw idt_end - idt - 1
                    dd idt
                gdt: dq 0, 0
                    dq 0x00cf9a000000ffff
                    dq 0x00cf92000000ffff
                gdtr: dw 31
                    dd gdt
                """);
        StringBuilder crash = new StringBuilder();
        CpuExecutor ex = new CpuExecutor(cpu, env, crash::append);
        assertEquals(RunExit.BLOCKED, ex.run(System.nanoTime() + 1_000_000_000L), crash::toString);
        assertFalse(ex.wakeupPending());
        env.irqs.add(0x30);
        assertTrue(ex.wakeupPending());
        assertEquals(RunExit.BLOCKED, ex.run(System.nanoTime() + 1_000_000_000L));
        assertEquals(0x77, reg(Cpu.EAX), "handler ran, HLT resumed after it");
        assertFalse(cpu.interruptsEnabled());
        assertTrue(env.timerCalls > 0, "timers serviced");
    }

    @Test
    void executorHonoursExitAndShutdownRequests() {
        flat32(0x1000, """
                again: jmp again
                """);
        CpuExecutor ex = new CpuExecutor(cpu, env, null);
        assertEquals(RunExit.PREEMPTED, ex.run(System.nanoTime() + 2_000_000L), "deadline");
        ex.requestExit();
        assertEquals(RunExit.PREEMPTED, ex.run(Long.MAX_VALUE));
        ex.requestShutdown();
        assertEquals(RunExit.SHUTDOWN, ex.run(Long.MAX_VALUE));
        assertTrue(ex.instructionCount() > 0);
    }
}
