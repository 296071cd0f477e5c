package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.cpu.jit.JitOptions;
import org.xenj.hypervisor.internal.mem.MachineFrames;

/**
 * Code pages written by something other than the running vCPU's own stores: each writer changes
 * the immediate of a leaf function that is already compiled and hot, between slices (as a device,
 * backend or hypercall does), and the next call must return the new value, the compiled block
 * having been dropped ({@code invalidations}). The writers are the paths every non-CPU write to
 * guest RAM takes: {@code DomainMemory.write*} (device DMA, {@code GuestMemory} of the device
 * models and backends, copy_to_guest of hypercalls), {@code MachineFrames.copyIn}/{@code write32}
 * (grant copies, grant-mapped backend writes, PV page-table updates), a page-table rewrite with a
 * TLB flush (PV MMU update remapping the code's linear page), and a restore (memory rewritten,
 * {@code restoreState}). Also: the translator is on by default, and a domain can turn it off.
 */
class JitWritersTest {

    /** The leaf at 0x2000: mov eax, imm32; nop; nop; ret. */
    private static final int LEAF = 0x2000;

    private static void withJit(Map<String, String> props, Consumer<CpuTestSupport> test) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        test.accept(t);
    }

    private static final Map<String, String> HOT_AT_ONCE = Map.of("xenj.jit", "true", "xenj.jit.threshold", "1", "xenj.jit.sync",
            "true");

    /** Calls {@code target} once per HLT; EAX = what it returned. */
    private static void program(CpuTestSupport t, int target) {
        t.flat32(0x1000, """
                    top:
                        call 0x%x
                        hlt
                        jmp top
                    """.formatted(target));
        t.load(LEAF, new byte[] {(byte) 0xb8, 1, 0, 0, 0, (byte) 0x90, (byte) 0x90, (byte) 0xc3});
    }

    /** One more call: runs to the next HLT, returns EAX. */
    private static int call(CpuTestSupport t) {
        t.cpu.halted = false;
        t.runDeliveringToHlt();
        return t.reg(Cpu.EAX);
    }

    /** Warms the leaf up until it runs compiled, then checks {@code writer} makes the new immediate seen. */
    private static void check(CpuTestSupport t, Runnable writer, int newValue) {
        for (int i = 0; i < 5; i++) {
            assertEquals(1, call(t));
        }
        CpuJit jit = t.cpu.jit;
        long entered = jit.entered;
        assertEquals(1, call(t));
        assertTrue(jit.entered > entered, "the leaf runs compiled before the write: " + t.cpu.jitStatistics());
        long invalidated = jit.invalidations;
        writer.run();
        assertEquals(newValue, call(t), "the write is seen by the next call");
        assertTrue(jit.invalidations > invalidated, "the compiled leaf was dropped: " + t.cpu.jitStatistics());
        entered = jit.entered;
        for (int i = 0; i < 3; i++) {
            assertEquals(newValue, call(t));
        }
        assertTrue(jit.entered > entered, "the new leaf runs compiled again: " + t.cpu.jitStatistics());
    }

    @Test
    void translatorIsOnByDefault() {
        Map<String, String> cleared = new HashMap<>();
        cleared.put("xenj.jit", System.getProperty("xenj.jit"));
        System.clearProperty("xenj.jit");
        try {
            CpuTestSupport t = new CpuTestSupport();
            assertTrue(t.cpu.translatorOn(), "no property: translator on");
            t.cpu.setTranslator(JitOptions.configValue("0"));
            assertNull(t.cpu.jit, "jit = 0 in the domain config turns it off");
            t.cpu.setTranslator(JitOptions.configValue(null));
            assertNull(t.cpu.jit, "no key: the setting stays as it is");
            t.cpu.setTranslator(JitOptions.configValue("on"));
            assertNotNull(t.cpu.jit, "jit = on turns it back on");
        } finally {
            cleared.forEach((k, v) -> {
                if (v != null) {
                    System.setProperty(k, v);
                }
            });
        }
        withJit(Map.of("xenj.jit", "false", "xenj.jit.lockstep", "false"), t -> assertNull(t.cpu.jit, "-Dxenj.jit=false turns it off"));
        withJit(Map.of("xenj.jit", "false", "xenj.jit.lockstep", "false"), t -> {
            t.cpu.setTranslator(Boolean.TRUE);
            assertNotNull(t.cpu.jit, "a domain's jit = 1 turns it on when the hypervisor default is off");
        });
    }

    @Test
    void badConfigValueIsAClearError() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> JitOptions.configValue("maybe"));
        assertTrue(e.getMessage().contains("'jit'") && e.getMessage().contains("maybe"), e.getMessage());
        assertEquals(Boolean.FALSE, JitOptions.configValue(" \"off\" "));
        assertEquals(Boolean.TRUE, JitOptions.configValue("1"));
    }

    @Test
    void domainMemoryWriteLikeDmaIsSeen() {
        withJit(HOT_AT_ONCE, t -> {
            program(t, LEAF);
            check(t, () -> t.mem.write32(LEAF + 1, 0x1234), 0x1234);
        });
    }

    @Test
    void bulkGuestMemoryWriteLikeABackendIsSeen() {
        withJit(HOT_AT_ONCE, t -> {
            program(t, LEAF);
            byte[] block = new byte[4096];
            System.arraycopy(new byte[] {(byte) 0xb8, 0x22, 0, 0, 0, (byte) 0x90, (byte) 0x90, (byte) 0xc3}, 0, block, 0, 8);
            check(t, () -> t.mem.write(LEAF, block, 0, block.length), 0x22);
        });
    }

    @Test
    void machineFrameCopyLikeAGrantCopyIsSeen() {
        withJit(HOT_AT_ONCE, t -> {
            program(t, LEAF);
            long ma = (long) t.mem.mfn(LEAF >>> 12) << 12 | (LEAF & 0xfff);
            check(t, () -> MachineFrames.copyIn(t.mem.machine(), ma + 1, new byte[] {0x33, 0x44, 0, 0}, 0, 4), 0x4433);
        });
    }

    @Test
    void machineFrameStoreLikeAnMmuUpdateIsSeen() {
        withJit(HOT_AT_ONCE, t -> {
            program(t, LEAF);
            long ma = (long) t.mem.mfn(LEAF >>> 12) << 12 | (LEAF & 0xfff);
            // page-table updates are aligned 32-bit stores: opcode b8 and the immediate's low three bytes
            check(t, () -> MachineFrames.write32(t.mem.machine(), ma, 0x000055b8), 0x55);
        });
    }

    @Test
    void restoreWithOtherCodeInMemoryIsSeen() {
        withJit(HOT_AT_ONCE, t -> {
            program(t, LEAF);
            check(t, () -> {
                CpuState saved = t.cpu.saveState();
                t.mem.write32(LEAF + 1, 0x66);
                t.cpu.restoreState(saved);
            }, 0x66);
        });
    }

    /**
     * A PV MMU update remapping the code's linear page to another frame (PTE written in machine
     * memory, TLB flushed): the compiled block of the old frame must not run for the new one.
     */
    @Test
    void remappedCodePageRunsTheNewFramesCode() {
        withJit(HOT_AT_ONCE, t -> {
            // paging on: 0-4 MiB identity, linear 0x400000 -> frame 0x2000 (the leaf)
            t.flat32(0x1000, """
                        mov eax, 0x8000 | 3
                        mov [0x7000], eax
                        mov eax, 0x9000 | 3
                        mov [0x7004], eax
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
                        mov eax, 0x7000
                        mov cr3, eax
                        mov eax, cr0
                        or eax, 0x80000000
                        mov cr0, eax
                    top:
                        call 0x400000
                        hlt
                        jmp top
                    """);
            t.load(LEAF, new byte[] {(byte) 0xb8, 1, 0, 0, 0, (byte) 0x90, (byte) 0x90, (byte) 0xc3});
            t.load(0x3000, new byte[] {(byte) 0xb8, 0x77, 0, 0, 0, (byte) 0x90, (byte) 0x90, (byte) 0xc3});
            for (int i = 0; i < 6; i++) {
                assertEquals(1, call(t));
            }
            CpuJit jit = t.cpu.jit;
            long entered = jit.entered;
            long ptMa = (long) t.mem.mfn(0x9) << 12;
            MachineFrames.write32(t.mem.machine(), ptMa, 0x3000 | 3);
            t.cpu.flushTlbAll();
            for (int i = 0; i < 4; i++) {
                assertEquals(0x77, call(t), "the new frame's code");
            }
            assertTrue(jit.entered > entered + 2, "runs compiled: " + t.cpu.jitStatistics());
        });
    }

    /**
     * Instructions outside the translator's subset (16-bit operands, LOCK, CPUID, BT, string and
     * x87 instructions — and whatever the interpreter learns later, e.g. SSE: the subset is a
     * whitelist) end the translation before them and run in the interpreter; every block is
     * translated when first seen and checked against the interpreter (strict lockstep).
     */
    @Test
    void instructionsOutsideTheSubsetRunInTheInterpreter() {
        int[][] results = new int[2][];
        String code = """
                    xor ebx, ebx
                    mov ecx, 50
                    mov edi, 0x20000
                    cld
                top:
                    add ebx, ecx
                    mov dx, cx
                    add ebx, edx
                    lock add [0x30000], ecx
                    bt ebx, 3
                    adc ebx, 0
                    stosd
                    fld1
                    fistp dword [0x30004]
                    add ebx, [0x30004]
                    dec ecx
                    jnz top
                    hlt
                """;
        withJit(Map.of("xenj.jit", "false", "xenj.jit.lockstep", "false"), t -> {
            t.cpu.setFpu(new org.xenj.hypervisor.internal.cpu.fpu.X87(t.cpu.fpuMemory()));
            t.flat32(0x1000, code);
            t.runDeliveringToHlt();
            results[0] = new int[] {t.reg(Cpu.EBX), t.reg(Cpu.EDX), t.reg(Cpu.EDI), t.cpu.readLinear32(0x30000), t.cpu.getEflags()};
        });
        withJit(Map.of("xenj.jit.lockstep", "true", "xenj.jit.threshold", "0", "xenj.jit.strict", "true"), t -> {
            t.cpu.setFpu(new org.xenj.hypervisor.internal.cpu.fpu.X87(t.cpu.fpuMemory()));
            t.flat32(0x1000, code);
            t.runDeliveringToHlt();
            results[1] = new int[] {t.reg(Cpu.EBX), t.reg(Cpu.EDX), t.reg(Cpu.EDI), t.cpu.readLinear32(0x30000), t.cpu.getEflags()};
            CpuJit jit = t.cpu.jit;
            assertTrue(jit.checked > 50, t.cpu.jitStatistics());
            assertEquals(0, jit.mismatches, () -> jit.mismatchLog().toString());
        });
        assertEquals(java.util.Arrays.toString(results[0]), java.util.Arrays.toString(results[1]));
    }
}
