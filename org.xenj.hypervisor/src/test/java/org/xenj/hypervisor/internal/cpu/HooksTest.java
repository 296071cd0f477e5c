package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The hooks the PV support plugs in: hypercalls (INT 0x82, VMCALL), event delivery, CPUID leaves. */
class HooksTest extends CpuTestSupport {

    @Test
    void vmcallWithoutHandlerIsUndefinedAndWithHandlerReturnsToNextInstruction() {
        flat32(0x1000, """
                mov eax, 7
                vmcall
                hlt
                """);
        assertEquals(Cpu.UD, cpu.runTest(10));
        List<Integer> kinds = new ArrayList<>();
        cpu.setHypercallHandler((c, kind) -> {
            kinds.add(kind);
            c.setReg32(Cpu.EAX, c.getReg32(Cpu.EAX) * 6);
            return true;
        });
        flat32(0x1000, """
                mov eax, 7
                vmcall
                hlt
                """);
        runToHlt();
        assertEquals(42, reg(Cpu.EAX));
        assertEquals(List.of(HypercallHandler.VMCALL), kinds);
    }

    @Test
    void int82GoesToTheHypercallHandler() {
        cpu.setHypercallHandler((c, kind) -> {
            c.setReg32(Cpu.EBX, kind);
            return kind == HypercallHandler.INT82;
        });
        flat32(0x1000, """
                int 0x82
                hlt
                """);
        // runTest stops at software interrupts only after the handler declined; here it accepted
        cpu.runSlice(10);
        assertTrue(cpu.isHalted());
        assertEquals(0x82, reg(Cpu.EBX));
    }

    @Test
    void deliveryHookSeesExceptionsBeforeTheIdt() {
        List<String> seen = new ArrayList<>();
        cpu.setDeliveryHook((c, vector, kind, error) -> {
            seen.add(vector + "/" + kind + "/" + error);
            c.setEip(c.getEip() + 2); // skip the faulting 2-byte instruction
            return true;
        });
        flat32(0x1000, """
                mov ax, 0x1234
                mov ds, ax          ; #GP(0x1234): TI=1 and there is no LDT
                mov ebx, 5
                hlt
                """);
        runDeliveringToHlt();
        assertEquals(List.of("13/" + DeliveryHook.EXCEPTION + "/" + 0x1234), seen);
        assertEquals(5, reg(Cpu.EBX));
    }

    @Test
    void cpuidHookAnswersHypervisorLeaves() {
        cpu.setCpuidHook((leaf, sub, r) -> {
            if (leaf == 0x40000000) {
                r[0] = 0x40000002;
                r[1] = 0x566e6558; // "XenV"
            }
        });
        flat32(0x1000, """
                mov eax, 0x40000000
                cpuid
                hlt
                """);
        runToHlt();
        assertEquals(0x40000002, reg(Cpu.EAX));
        assertEquals(0x566e6558, reg(Cpu.EBX));
    }
}
