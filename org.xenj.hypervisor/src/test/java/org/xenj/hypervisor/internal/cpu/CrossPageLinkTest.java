package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * A block's remembered successor on another code page ({@code BlockSlot.xTo}) is reused only
 * while the TLB still maps that page to the frame it was linked on. The guest calls a leaf on
 * another page from one compiled block, 20 times in one slice; at the 11th call that block itself
 * rewrites the leaf page's PTE to another frame (no INVLPG) and reads a page with the same TLB
 * index, which pushes the leaf page's entry out, so the call's fetch walks the new PTE: the
 * interpreter then runs the new frame's leaf. The page stays watched with the old frame (no store
 * into code, no new epoch), so only the TLB comparison in {@code CpuTlb.crossLinkHolds} stands
 * between the chain and the old frame's compiled leaf.
 */
class CrossPageLinkTest {

    private static final String PROGRAM = """
                mov eax, 0x8000 | 3
                mov [0x7000], eax
                mov eax, 0x9000 | 3
                mov [0x7004], eax
                mov eax, 0xa000 | 3
                mov [0x7014], eax
                xor edi, edi
            fill:
                lea eax, [edi * 4]
                shl eax, 10
                or eax, 3
                mov [0x8000 + edi * 4], eax
                inc edi
                cmp edi, 1024
                jb fill
                mov dword [0x9000], 0x2000 | 3
                mov dword [0xa000], 0x4000 | 3
                mov eax, 0x7000
                mov cr3, eax
                mov eax, cr0
                or eax, 0x80000000
                mov cr0, eax
                mov ebx, 0x3000 | 3
                mov ebp, 0x1400000
                xor esi, esi
                mov ecx, 20
                jmp call_leaf
                align 16
            call_leaf:
                mov edx, 0x2000 | 3
                mov edi, 0x1000
                cmp ecx, 10
                cmovbe edx, ebx
                cmovbe edi, ebp
                mov [0x9000], edx
                mov eax, [edi]
                call 0x400000
                add esi, eax
                dec ecx
                jnz call_leaf
                hlt
            """;

    /** Runs the program (paging on, the leaf at linear 0x400000 on frame 0x2000, then 0x3000); returns ESI, the sum of the leaf's results. */
    private static int run(Map<String, String> props, boolean expectLinked) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        t.flat32(0x1000, PROGRAM);
        t.load(0x2000, new byte[] {(byte) 0xb8, 1, 0, 0, 0, (byte) 0x90, (byte) 0x90, (byte) 0xc3});
        t.load(0x3000, new byte[] {(byte) 0xb8, 0x77, 0, 0, 0, (byte) 0x90, (byte) 0x90, (byte) 0xc3});
        t.cpu.runSlice(100_000);
        assertTrue(t.cpu.isHalted(), t.cpu.stateString());
        if (expectLinked) {
            assertTrue(t.cpu.crossPageLinked > 0, "the remembered cross-page successor was used: " + t.cpu.blockCacheStatistics());
            assertTrue(t.cpu.jit.chained > 0, t.cpu.jitStatistics());
        }
        return t.reg(Cpu.ESI);
    }

    @Test
    void aSuccessorOnAPageTheTlbNowMapsElsewhereIsNotReused() {
        int expected = 10 * 1 + 10 * 0x77;
        assertEquals(expected, run(Map.of("xenj.jit", "false"), false), "interpreter");
        assertEquals(expected, run(Map.of("xenj.jit", "true", "xenj.jit.threshold", "1", "xenj.jit.sync", "true", "xenj.jit.chainPages", "true"),
                true), "translator, chained across pages");
    }
}
