package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * The decoded-block cache returns the current code whoever rewrote it: the guest inside the
 * running block, on the same page or on another page, a device through {@code DomainMemory.write},
 * or a page-table change that maps another physical page at the same virtual address.
 */
class BlockCacheTest extends CpuTestSupport {

    @BeforeEach
    void cacheOn() {
        assumeTrue(CpuBlocks.ENABLED, "block cache disabled by -Dxenj.cpu.blockcache=false");
    }

    @Test
    void loopsRunFromTheCache() {
        flat32(0x1000, """
                    xor eax, eax
                    mov ecx, 1000
                top:
                    add eax, ecx
                    dec ecx
                    jnz top
                    hlt
                """);
        runDeliveringToHlt();
        assertEquals(500500, reg(Cpu.EAX));
        // a compiled self-loop goes round inside its method (xenj.jit.loops): those passes ran the cached block too
        assertTrue(cpu.blockHits + cpu.loopIterations > 900, "hits " + cpu.blockHits + ", passes inside a compiled loop " + cpu.loopIterations);
    }

    @Test
    void storeIntoTheRunningBlockIsSeenByTheNextInstruction() {
        // the store and its target are in one cached block; at iteration 5 the store changes the immediate
        flat32(0x1000, """
                    xor ebx, ebx
                    xor ecx, ecx
                    mov edx, 1
                top:
                    mov [imm + 1], edx
                imm:
                    mov eax, 0x1
                    add ebx, eax
                    inc ecx
                    cmp ecx, 5
                    jne same
                    mov edx, 10
                same:
                    cmp ecx, 10
                    jb top
                    hlt
                """);
        runDeliveringToHlt();
        assertEquals(5 * 1 + 5 * 10, reg(Cpu.EBX));
        assertTrue(cpu.blockHits > 0);
    }

    @Test
    void storeIntoAnotherBlockOfTheSamePage() {
        flat32(0x1000, """
                    xor ebx, ebx
                    xor ecx, ecx
                top:
                    call func
                    add ebx, eax
                    inc ecx
                    cmp ecx, 3
                    jne same
                    mov byte [func + 1], 7
                same:
                    cmp ecx, 6
                    jb top
                    hlt
                func:
                    mov eax, 1
                    ret
                """);
        runDeliveringToHlt();
        assertEquals(3 * 1 + 3 * 7, reg(Cpu.EBX));
    }

    @Test
    void storeIntoCodeOnAnotherPage() {
        flat32(0x1000, """
                    xor ebx, ebx
                    xor ecx, ecx
                top:
                    call func
                    add ebx, eax
                    inc ecx
                    cmp ecx, 3
                    jne same
                    mov dword [func + 1], 100
                same:
                    cmp ecx, 6
                    jb top
                    hlt
                    times 0x2000 - ($ - $$) db 0x90
                func:
                    mov eax, 1
                    ret
                """);
        runDeliveringToHlt();
        assertEquals(3 * 1 + 3 * 100, reg(Cpu.EBX));
    }

    /**
     * Execution moving between pages it already ran from in this epoch (a caller and a function on
     * another page) does not compare the blocks' bytes again: both pages are watched, so a store to
     * either would have been seen ({@link #storeIntoCodeOnAnotherPage}).
     */
    @Test
    void movingBetweenWatchedCodePagesDoesNotCompareBlocksAgain() {
        flat32(0x1000, """
                    xor ebx, ebx
                    mov ecx, 500
                top:
                    call func
                    add ebx, eax
                    dec ecx
                    jnz top
                    hlt
                    times 0x2000 - ($ - $$) db 0x90
                func:
                    mov eax, 3
                    ret
                """);
        // one slice (runToHlt starts a new epoch at every block)
        for (int i = 0; i < 10 && !cpu.isHalted(); i++) {
            cpu.runSlice(1_000_000);
        }
        assertTrue(cpu.isHalted());
        assertEquals(1500, reg(Cpu.EBX));
        assertTrue(cpu.blockHits > 1000, cpu.blockCacheStatistics());
        assertTrue(cpu.blockCompares < 10, "1,500 block entries across two pages in one slice: " + cpu.blockCacheStatistics());
    }

    private static final String CALLS_ACROSS_PAGES = """
                xor ebx, ebx
                mov ecx, 2000
            top:
                call func
                add ebx, eax
                dec ecx
                jnz top
                hlt
                times 0x2000 - ($ - $$) db 0x90
            func:
                mov eax, 3
                ret
            """;

    /** Runs slices of 20 instructions until HLT; returns how many. */
    private int runShortSlices() {
        int slices = 0;
        for (; slices < 100_000 && !cpu.isHalted(); slices++) {
            cpu.runSlice(20);
        }
        assertTrue(cpu.isHalted());
        assertEquals(6000, reg(Cpu.EBX));
        return slices;
    }

    @Test
    void slicesWithoutOtherWritersKeepTheEpoch() {
        flat32(0x1000, CALLS_ACROSS_PAGES);
        int slices = runShortSlices();
        assertTrue(slices > 500, "slices: " + slices);
        // a new epoch (every block compared again) only every QUIET_SLICES slices, not at each
        assertTrue(cpu.sliceEpochs <= slices / CpuBlocks.QUIET_SLICES + 2, slices + " slices: " + cpu.blockCacheStatistics());
        // (before: each slice compared at least the block it started with)
        assertTrue(cpu.blockCompares < slices / 2, slices + " slices: " + cpu.blockCacheStatistics());
    }

    @Test
    void aDeviceWriteAnywhereStartsANewEpochAtTheNextSlice() {
        flat32(0x1000, CALLS_ACROSS_PAGES);
        for (int i = 0; i < 5; i++) {
            cpu.runSlice(20);
        }
        long epochs = cpu.sliceEpochs;
        long compares = cpu.blockCompares;
        mem.write32(0x70000, 1); // a device's write to a data page: the CPU cannot tell it from a code write
        cpu.runSlice(20);
        assertEquals(epochs + 1, cpu.sliceEpochs, cpu.blockCacheStatistics());
        assertTrue(cpu.blockCompares > compares, cpu.blockCacheStatistics());
        cpu.runSlice(20);
        assertEquals(epochs + 1, cpu.sliceEpochs, "no write since: the epoch goes on " + cpu.blockCacheStatistics());
    }

    /**
     * A second vCPU over the same memory used to start an epoch at every slice (its stores were not
     * counted); now its stores into code are ({@code SharedCode}, {@link CrossModifyingCodeTest}),
     * so one that writes no code leaves the epoch alone.
     */
    @Test
    void anotherVcpuThatWritesNoCodeKeepsTheEpoch() {
        new Cpu(mem, env);
        flat32(0x1000, CALLS_ACROSS_PAGES);
        int slices = runShortSlices();
        assertTrue(slices > 500, "slices: " + slices);
        assertTrue(cpu.blockCacheStatistics().contains("sharedEpochs=0 "), cpu.blockCacheStatistics());
        assertTrue(cpu.sliceEpochs <= slices / CpuBlocks.QUIET_SLICES + 3, slices + " slices: " + cpu.blockCacheStatistics());
    }

    @Test
    void dmaWriteBetweenRunsIsSeen() {
        flat32(0x1000, """
                    xor eax, eax
                    mov ecx, 10
                top:
                    add eax, 2
                    dec ecx
                    jnz top
                    hlt
                """);
        runToHlt();
        assertEquals(20, reg(Cpu.EAX));
        // a device rewrites "add eax, 2" (83 C0 02) into "add eax, 3" behind the CPU's back
        int at = 0x1000 + indexOf(mem, 0x1000, new byte[] {(byte) 0x83, (byte) 0xc0, 0x02});
        mem.write(at + 2, new byte[] {3}, 0, 1);
        cpu.setEip(0x1000);
        runToHlt();
        assertEquals(30, reg(Cpu.EAX));
    }

    @Test
    void hypercallWritingTheNextInstructionIsSeen() {
        // a hypervisor service rewrites the immediate of the instruction right after the VMCALL (same block)
        flat32(0x1000, """
                    xor ebx, ebx
                    xor ecx, ecx
                top:
                    vmcall
                imm:
                    mov eax, 1
                    add ebx, eax
                    inc ecx
                    cmp ecx, 6
                    jb top
                    hlt
                """);
        int at = 0x1000 + indexOf(mem, 0x1000, new byte[] {(byte) 0xb8, 1, 0, 0, 0});
        cpu.setHypercallHandler((c, kind) -> {
            if (c.getReg32(Cpu.ECX) == 3) {
                mem.write32(at + 1, 5);
            }
            return true;
        });
        runDeliveringToHlt();
        assertEquals(3 * 1 + 3 * 5, reg(Cpu.EBX));
    }

    /** Identity map of the first 4 MiB, entries without accessed/dirty bits (the walker sets them), paging then turned on by the code. */
    private void identityMapWithoutAccessedBits(int pd, int pt) {
        mem.write32(pd, pt | 3);
        for (int i = 0; i < 1024; i++) {
            mem.write32(pt + i * 4, (i << 12) | 3);
        }
    }

    private static final String PAGING_ON = """
                mov eax, 0x20000
                mov cr3, eax
                mov eax, cr0
                or eax, 0x80000000
                mov cr0, eax
            """;

    @Test
    void accessedAndDirtyBitsAreNotAnotherWriter() {
        // 300 stores to fresh pages: each makes the walker set A and D in a page table (this vCPU's own
        // store into a frame that holds no code); they used to count as another writer's and start an
        // epoch at the next slice
        identityMapWithoutAccessedBits(0x20000, 0x21000);
        flat32(0x1000, PAGING_ON + """
                    mov edi, 0x100000
                    mov ecx, 300
                top:
                    mov [edi], ecx
                    add edi, 0x1000
                    dec ecx
                    jnz top
                    hlt
                """);
        long writers = cpu.writerEpochs;
        int slices = 0;
        for (; slices < 10_000 && !cpu.isHalted(); slices++) {
            cpu.runSlice(20);
        }
        assertTrue(cpu.isHalted());
        assertTrue(cpu.tableWrites >= 300, cpu.blockCacheStatistics());
        assertTrue(cpu.writerEpochs - writers <= 1, "only the loader's write: " + cpu.blockCacheStatistics());
        assertTrue(cpu.sliceEpochs <= slices / CpuBlocks.QUIET_SLICES + 2, slices + " slices: " + cpu.blockCacheStatistics());
        assertEquals(0x12c, mem.read32(0x100000));
        assertEquals(0x100063, mem.read32(0x21000 + 0x100 * 4), "A and D set");
    }

    @Test
    void anAccessedBitSetInTheFrameOfRunningCodeIsSeenAtOnce() {
        // the page table for 4-8 MiB is the frame at 0x3000, which also holds code: "mov eax, imm32; ret" at
        // 0x3003, whose immediate is the entry for 0x401000. Reading 0x401000 makes the walker set that
        // entry's accessed bit, i.e. rewrites the immediate of a block validated in this epoch.
        identityMapWithoutAccessedBits(0x20000, 0x21000);
        mem.write32(0x20004, 0x3000 | 3);
        load(0x3003, new byte[] {(byte) 0xb8, 0x03, 0x00, 0x05, 0x00, (byte) 0xc3}); // mov eax, 0x50003; ret
        flat32(0x1000, PAGING_ON + """
                    call 0x3003
                    mov ebx, eax
                    call 0x3003
                    mov esi, [0x401000]
                    call 0x3003
                    mov edx, eax
                    hlt
                """);
        runDeliveringToHlt();
        assertEquals(0x50003, reg(Cpu.EBX));
        assertEquals(0x50023, reg(Cpu.EDX), "the immediate with the accessed bit: " + cpu.blockCacheStatistics());
    }

    @Test
    void interruptsAndIretKeepTheEpoch() {
        // 2,000 INT 0x30 / IRETD round trips: each loads CS (a break that ends the block), neither writes
        // code or remaps anything, so the blocks compared in the epoch stay valid (each used to start an
        // epoch: every block entered after an interrupt or an IRET was compared again)
        flat32(0x1000, """
                    lgdt [gdtr]
                    lidt [idtr]
                    xor ebx, ebx
                    mov ecx, 2000
                top:
                    int 0x30
                    dec ecx
                    jnz top
                    hlt
                    times 0x2000 - ($ - $$) db 0x90
                handler:
                    add ebx, 3
                    iretd
                    align 8
                gdt: dq 0, 0
                    dq 0x00cf9a000000ffff
                    dq 0x00cf92000000ffff
                gdtr: dw 31
                    dd gdt
                    align 8
                idt: times 0x30 dq 0
                    dw handler, 0x10, 0x8e00, 0
                idtr: dw 0x31 * 8 - 1
                    dd idt
                """);
        runDeliveringToHlt();
        assertEquals(6000, reg(Cpu.EBX));
        assertTrue(cpu.modeBreaks >= 4000, cpu.blockCacheStatistics());
        assertTrue(cpu.breakEpochs < 400 && cpu.blockCompares < 1000, "2,000 interrupts: " + cpu.blockCacheStatistics());
    }

    @Test
    void remappedPageRunsTheNewCode() {
        // identity map of the first 4 MiB except virtual 0x400000, which maps physical 0x100000 and then 0x101000
        int pd = 0x20000;
        int pt = 0x21000;
        int pt2 = 0x22000;
        mem.write32(pd, pt | 3);
        mem.write32(pd + 4, pt2 | 3);
        for (int i = 0; i < 1024; i++) {
            mem.write32(pt + i * 4, (i << 12) | 3);
        }
        mem.write32(pt2, 0x100000 | 3);
        load(0x100000, asm("bits 32\nmov eax, 1\nret\n"));
        load(0x101000, asm("bits 32\nmov eax, 2\nret\n"));
        flat32(0x1000, """
                    mov eax, 0x20000
                    mov cr3, eax
                    mov eax, cr0
                    or eax, 0x80000000
                    mov cr0, eax
                    xor ebx, ebx
                    xor ecx, ecx
                top:
                    mov eax, 0x400000
                    call eax
                    add ebx, eax
                    inc ecx
                    cmp ecx, 3
                    jne same
                    mov dword [0x22000], 0x101003
                    invlpg [0x400000]
                same:
                    cmp ecx, 6
                    jb top
                    hlt
                """);
        runDeliveringToHlt();
        assertEquals(3 * 1 + 3 * 2, reg(Cpu.EBX));
    }

    private static int indexOf(org.xenj.hypervisor.internal.mem.DomainMemory m, long from, byte[] pattern) {
        for (int i = 0; i < 0x1000; i++) {
            boolean match = true;
            for (int k = 0; k < pattern.length && match; k++) {
                match = (byte) m.read8(from + i + k) == pattern[k];
            }
            if (match) {
                return i;
            }
        }
        throw new AssertionError("pattern not found");
    }

    @Test
    void blocksAtTheSameOffsetOfDifferentMegabytesDoNotCollide() {
        // two copies of one leaf, 1 MiB apart (same offset in two chunks), called in turn: with a slot
        // hash of the offset alone each call evicted the other copy and decoded again (4000 decodes)
        flat32(0x1000, """
                    mov ecx, 2000
                    xor eax, eax
                top:
                    call 0x110000
                    call 0x210000
                    dec ecx
                    jnz top
                    hlt
                """);
        byte[] leaf = asm("bits 32\ninc eax\nadd eax, 2\nret\n");
        for (int mb = 1; mb <= 2; mb++) {
            load(mb * MB + 0x10000, leaf);
        }
        runDeliveringToHlt();
        assertEquals(2000 * 2 * 3, reg(Cpu.EAX));
        // (the chunk's identity hash is random: the two still share a slot about once in 4096 runs)
        assertTrue(cpu.blockBuilds < 100, "decoded " + cpu.blockBuilds + " blocks");
    }

    /**
     * The cache is 4-way set associative with LRU replacement: four blocks whose addresses hash to
     * one set all stay cached while a loop calls them in turn (a direct-mapped cache would decode
     * them again at every call); a fifth one in the same set makes the set evict.
     */
    @Test
    void fourBlocksOfOneSetStayCachedAndAFifthEvicts() {
        CpuTestSupport four = callLeavesOfOneSet(4);
        assertEquals(0, four.cpu.blockEvictions, four.cpu.blockCacheStatistics());
        assertTrue(four.cpu.blockBuilds < 20, four.cpu.blockCacheStatistics());
        CpuTestSupport five = callLeavesOfOneSet(5);
        assertTrue(five.cpu.blockEvictions >= 100, five.cpu.blockCacheStatistics());
    }

    /** Calls {@code n} one-block leaves of one cache set 50 times each; checks the result. */
    private static CpuTestSupport callLeavesOfOneSet(int n) {
        CpuTestSupport t = new CpuTestSupport();
        int[] leaves = sameSetAddresses(t, n);
        StringBuilder calls = new StringBuilder();
        for (int k = 0; k < n; k++) {
            calls.append("    call ").append(leaves[k]).append('\n');
            t.load(leaves[k], new byte[] {0x40, (byte) 0xc3}); // inc eax; ret
        }
        t.flat32(0x1000, "    mov ecx, 50\n    xor eax, eax\ntop:\n" + calls + "    dec ecx\n    jnz top\n    hlt\n");
        t.runDeliveringToHlt();
        assertEquals(50 * n, t.reg(Cpu.EAX));
        return t;
    }

    /**
     * {@code n} addresses between 64 KiB and 1 MiB whose blocks fall into one cache set of
     * {@code t}'s CPU (the hash mixes in the chunk's identity), a set that no byte of the loop
     * (within 256 bytes of 0x1000) maps to.
     */
    private static int[] sameSetAddresses(CpuTestSupport t, int n) {
        java.util.Set<Integer> loopSets = new java.util.HashSet<>();
        for (int a = 0x1000; a < 0x1100; a++) {
            loopSets.add(setOfGpa(t, a));
        }
        java.util.Map<Integer, java.util.List<Integer>> bySet = new java.util.HashMap<>();
        for (int a = 0x10000; a < MB; a += 16) {
            int set = setOfGpa(t, a);
            if (!loopSets.contains(set)) {
                java.util.List<Integer> l = bySet.computeIfAbsent(set, k -> new java.util.ArrayList<>());
                l.add(a);
                if (l.size() == n) {
                    return l.stream().mapToInt(Integer::intValue).toArray();
                }
            }
        }
        throw new AssertionError("no cache set with " + n + " addresses");
    }

    private static int setOfGpa(CpuTestSupport t, int gpa) {
        int mfn = t.mem.mfn(gpa >>> 12);
        return CpuBlocks.setOf(t.cpu.machine.chunk(mfn), MachineMemory.offset(mfn) + (gpa & 0xfff));
    }
}
