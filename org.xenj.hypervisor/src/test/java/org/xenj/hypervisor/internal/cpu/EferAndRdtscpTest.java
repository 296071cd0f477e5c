package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.timer.ManualClock;

/**
 * Defects a conformance suite found: RDMSR of IA32_EFER raised #GP and RDTSCP was missing. SDM vol.
 * 4 (MSR 0xC0000080 IA32_EFER, 0xC0000103 IA32_TSC_AUX) and vol. 2B "RDTSCP"; CPUID 8000_0001h EDX
 * bit 27 offers it.
 */
class EferAndRdtscpTest extends CpuTestSupport {

    private final ManualClock clock = new ManualClock();

    @BeforeEach
    void useTheDomainClock() {
        cpu.setClock(clock);
    }

    @Test
    void eferKeepsNxeAndRefusesBitsThatAreNotOffered() {
        flat32(0x1000, "mov ecx, 0xc0000080\nrdmsr\nhlt");
        runToHlt();
        assertEquals(0, reg(Cpu.EAX));
        assertEquals(0, reg(Cpu.EDX));
        flat32(0x1000, "mov ecx, 0xc0000080\nxor eax, eax\nxor edx, edx\nwrmsr\nhlt");
        runToHlt();
        flat32(0x1000, "mov ecx, 0xc0000080\nmov eax, 0x800\nxor edx, edx\nwrmsr\nrdmsr\nhlt"); // NXE is offered
        runToHlt();
        assertEquals(0x800, reg(Cpu.EAX), "EFER.NXE reads back");
        flat32(0x1000, "mov ecx, 0xc0000080\nmov eax, 0x100\nxor edx, edx\nwrmsr\nhlt"); // LME: no long mode
        assertEquals(Cpu.GP, cpu.runTest(100));
        flat32(0x1000, "mov ecx, 0xc0000080\nmov eax, 1\nxor edx, edx\nwrmsr\nhlt"); // SCE: no SYSCALL
        assertEquals(Cpu.GP, cpu.runTest(100));
    }

    @Test
    void rdtscpReturnsTheTscAndTscAux() {
        flat32(0x1000, "mov eax, 0x80000001\ncpuid\nhlt");
        runToHlt();
        assertTrue((reg(Cpu.EDX) & (1 << 27)) != 0, "CPUID 8000_0001h EDX.RDTSCP");
        flat32(0x1000, "mov ecx, 0xc0000103\nmov eax, 7\nxor edx, edx\nwrmsr\nhlt");
        runToHlt();
        clock.advanceNanos(5_000);
        flat32(0x1000, "rdtscp\nhlt");
        runToHlt();
        long tsc = (reg(Cpu.EDX) & 0xffffffffL) << 32 | (reg(Cpu.EAX) & 0xffffffffL);
        assertEquals(7, reg(Cpu.ECX), "ECX = IA32_TSC_AUX");
        flat32(0x1000, "rdtsc\nhlt");
        runToHlt();
        long tsc2 = (reg(Cpu.EDX) & 0xffffffffL) << 32 | (reg(Cpu.EAX) & 0xffffffffL);
        assertEquals(tsc, tsc2, "the same TSC as RDTSC with the clock standing still");
        flat32(0x1000, "mov ecx, 0xc0000103\nxor eax, eax\nmov edx, 1\nwrmsr\nhlt"); // bits 63:32 reserved
        assertEquals(Cpu.GP, cpu.runTest(100));
    }

    @Test
    void rdtscpRunsInRingThreeAsLinuxsVdsoUsesIt() {
        // a ring-3 RDTSCP used to fall through to INVLPG's privilege check: #GP in user space
        // (busybox ping died in clock_gettime under a PVHVM guest)
        desc(2, 0, 0xfffff, 0x9a, 0xc); // 0x10 ring-0 code
        desc(3, 0, 0xfffff, 0x92, 0xc); // 0x18 ring-0 data
        desc(7, 0, 0xfffff, 0xfa, 0xc); // 0x38 ring-3 code
        desc(8, 0, 0xfffff, 0xf2, 0xc); // 0x40 ring-3 data
        cpu.setGdtr(GDT, 0x7f);
        flat32(0x1000, """
                    mov ecx, 0xc0000103
                    mov eax, 5
                    xor edx, edx
                    wrmsr
                    push dword 0x43
                    push dword 0x7000
                    push dword 0x3b
                    push dword user
                    retf
                user:
                    rdtscp
                    mov ebx, 0x77
                    hlt
                """);
        assertEquals(Cpu.GP, cpu.runTest(1000), "HLT in ring 3 ends the run");
        assertEquals(3, cpu.getCpl());
        assertEquals(0x77, reg(Cpu.EBX), () -> "RDTSCP faulted in ring 3:\n" + cpu.stateString());
        assertEquals(5, reg(Cpu.ECX), "ECX = IA32_TSC_AUX");
    }
}
