package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Cross-modifying code between two vCPUs of one domain, as SDM vol. 3 §8.1.3 specifies it: the
 * modifying processor writes the code, then a flag; the executing processor waits for the flag,
 * executes a serialising instruction and then the new code, which it must see. Here the code is
 * a function {@code mov eax, imm32; ret} that the executor has already run (so its block is cached
 * and was validated in the executor's epoch), and the serialising instruction is WBINVD (IRET, as
 * Linux's {@code sync_core()} uses, takes the same path, {@code CpuOrder.serialize}, but needs a
 * GDT this harness has not), which does not by itself start a new validation epoch: only
 * {@code SharedCode}'s count of the other vCPU's store, or its unsynced state, does.
 * Each round the modifier writes the round number into the immediate; the executor counts calls
 * that returned another value. Interpreted (block cache) and translated; the function on a page
 * of its own or on the page of the executor's loop.
 */
class CrossModifyingCodeTest {

    static final int ROUNDS = 3000;
    static final int FLAG = SmpAtomicityTest.DATA + 0x100, ACK = SmpAtomicityTest.DATA + 0x200;

    @ParameterizedTest(name = "jit={0} own page={1}")
    @CsvSource({"false, true", "true, true", "false, false", "true, false"})
    void theExecutorRunsTheNewCodeAfterASerialisingInstruction(boolean jit, boolean ownPage) throws Exception {
        Cpu[] cpus = SmpAtomicityTest.twoVcpus(jit);
        String pad = ownPage ? "times 0x1000 - ($ - $$) db 0x90\n" : "";
        int fn = ownPage ? SmpAtomicityTest.CODE0 + 0x1000 : -1;
        String executor = "mov esi, 1\n xor edi, edi\n"
                + "round:\n spin: mov eax, [" + FLAG + "]\n cmp eax, esi\n jne spin\n"
                + " wbinvd\n call fn\n cmp eax, esi\n je ok\n inc edi\n"
                + "ok:\n mov [" + ACK + "], esi\n inc esi\n cmp esi, " + (ROUNDS + 1) + "\n jne round\n hlt\n"
                + pad + "fn:\n mov eax, 0\n ret\n";
        // the immediate is one byte past fn; without its own page fn follows the loop: find it by assembling
        int fnAddr = ownPage ? fn : SmpAtomicityTest.CODE0 + fnOffset(executor);
        String modifier = "mov esi, 1\n"
                + "round:\n mov [" + (fnAddr + 1) + "], esi\n mov [" + FLAG + "], esi\n"
                + "spin: mov eax, [" + ACK + "]\n cmp eax, esi\n jne spin\n"
                + " inc esi\n cmp esi, " + (ROUNDS + 1) + "\n jne round\n hlt";
        SmpAtomicityTest.runBoth(cpus, executor, modifier);
        int stale = cpus[0].getReg32(Cpu.EDI);
        System.out.printf("[xmc] jit=%s own page=%s: %d stale calls in %d rounds; %s%n", jit, ownPage, stale, ROUNDS,
                cpus[0].blockCacheStatistics());
        assertEquals(ROUNDS + 1, cpus[0].getReg32(Cpu.ESI), "the executor finished its rounds");
        assertEquals(0, stale, "calls that ran the code as it was before the other vCPU's store and the IRET");
        assertTrue(cpus[0].blockCacheStatistics().contains("sharedEpochs="), "the domain's code is shared: "
                + cpus[0].blockCacheStatistics());
    }

    /** Offset of label {@code fn} in {@code code} assembled at CODE0 (the byte {@code B8} of its MOV). */
    private static int fnOffset(String code) throws Exception {
        byte[] bin = CpuTestSupport.asm("bits 32\norg " + SmpAtomicityTest.CODE0 + "\n" + code + "\n");
        // fn is the last 6 bytes: B8 imm32 C3
        assertEquals((byte) 0xb8, bin[bin.length - 6]);
        assertEquals((byte) 0xc3, bin[bin.length - 1]);
        return bin.length - 6;
    }
}
