package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.timer.ManualClock;

/**
 * The TSC follows the domain clock, and CPUID tells Linux its frequency (leaves 0x15/0x16) and that
 * it is invariant with TSC_ADJUST, so the kernel need not calibrate against the PIT.
 */
class TscAndCpuidTest extends CpuTestSupport {

    private final ManualClock clock = new ManualClock();

    @BeforeEach
    void useTheDomainClock() {
        cpu.setClock(clock);
    }

    private long rdtsc() {
        flat32(0x1000, "rdtsc\nhlt");
        runToHlt();
        return (reg(Cpu.EDX) & 0xffffffffL) << 32 | (reg(Cpu.EAX) & 0xffffffffL);
    }

    private long rdmsr(int msr) {
        flat32(0x1000, "mov ecx, " + msr + "\nrdmsr\nhlt");
        runToHlt();
        return (reg(Cpu.EDX) & 0xffffffffL) << 32 | (reg(Cpu.EAX) & 0xffffffffL);
    }

    private void wrmsr(int msr, long value) {
        flat32(0x1000, "mov ecx, " + msr + "\nmov eax, " + (int) value + "\nmov edx, " + (int) (value >>> 32) + "\nwrmsr\nhlt");
        runToHlt();
    }

    private int[] cpuid(int leaf, int sub) {
        flat32(0x1000, "mov eax, " + leaf + "\nmov ecx, " + sub + "\ncpuid\nhlt");
        runToHlt();
        return new int[] {reg(Cpu.EAX), reg(Cpu.EBX), reg(Cpu.ECX), reg(Cpu.EDX)};
    }

    @Test
    void rdtscAndTheTscMsrCountGuestNanosecondsAtOneGigahertz() {
        clock.advanceNanos(2_000_000_000L);
        assertEquals(2_000_000_000L, rdtsc());
        clock.advanceNanos(10_000_000L); // 10 ms of guest time = 10^7 ticks
        assertEquals(2_010_000_000L, rdmsr(CpuSystem.MSR_TSC));
    }

    @Test
    void writingTheTscMovesTscAdjustByTheSameAmountAndBack() {
        clock.advanceNanos(1_000_000L);
        wrmsr(CpuSystem.MSR_TSC, 5_000_000_000L);
        assertEquals(4_999_000_000L, rdmsr(CpuSystem.MSR_TSC_ADJUST));
        clock.advanceNanos(1_000L);
        assertEquals(5_000_001_000L, rdtsc());
        wrmsr(CpuSystem.MSR_TSC_ADJUST, 0); // what Linux does when it finds TSC_ADJUST non-zero
        assertEquals(clock.tsc(), rdtsc());
    }

    @Test
    void cpuidReportsTheTscFrequencyTheCrystalAndAnInvariantTsc() {
        assertEquals(0x16, cpuid(0, 0)[0]);
        int[] l15 = cpuid(0x15, 0);
        assertTrue(l15[0] != 0 && l15[1] != 0 && l15[2] != 0, "Linux needs all three for a known TSC frequency");
        long crystalHz = l15[2] & 0xffffffffL;
        assertEquals(clock.tscHz(), crystalHz * l15[1] / l15[0], "TSC = crystal * EBX / EAX");
        assertEquals(1_000_000_000L, crystalHz, "the crystal is the APIC timer's input clock");
        // Linux: lapic_timer_period = crystal_khz * 1000 / HZ bus clocks per tick (HZ=250: 4 ms)
        assertEquals(4_000_000L, crystalHz / 250);
        int[] l16 = cpuid(0x16, 0);
        assertEquals(1000, l16[0], "base MHz");
        assertEquals(1000, l16[2], "bus MHz");
        assertEquals(1 << 1, cpuid(7, 0)[1] & (1 << 1), "TSC_ADJUST");
        assertEquals(0x80000007, cpuid(0x80000000, 0)[0]);
        assertEquals(1 << 8, cpuid(0x80000007, 0)[3] & (1 << 8), "invariant TSC");
        int[] l4 = cpuid(4, 0);
        assertEquals(0, l4[0], "no deterministic cache leaves: type 0 ends the list at once");
        assertEquals(0, cpuid(0xb, 0)[1], "no extended topology: EBX 0");
    }
}
