package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Log-dirty mode seen from the CPU: stores (plain, string, translated, page-walker A/D updates) mark
 * exactly the pages they write, loads mark nothing, and after a round takes the marks and the vCPU
 * drops its write entries ({@link Cpu#syncWriteCache}, what its executor does between blocks), the
 * same stores mark their pages again — through the TLB fast path, without a mark per store.
 */
class LogDirtyTest {

    private static final String STORES = """
                mov eax, [0x30000]
                mov [0x20000], eax
                mov [0x20ffc], eax
                mov edi, 0x40000
                mov ecx, 2048
                cld
                rep stosd
                hlt
            """;

    private static BitSet pages(int... gfns) {
        BitSet b = new BitSet();
        for (int g : gfns) {
            b.set(g);
        }
        return b;
    }

    private static void rerun(CpuTestSupport t) {
        t.cpu.setEip(0x1000);
        t.runToHlt();
    }

    @Test
    void interpretedStoresMarkTheirPagesAndAgainAfterARoundTookTheMarks() {
        CpuTestSupport t = new CpuTestSupport();
        t.flat32(0x1000, STORES);
        t.mem.startLogDirty();
        t.runToHlt();
        assertEquals(pages(0x20, 0x40, 0x41), t.mem.takeDirty(), "the stored-to pages, not the loaded one nor the code");
        assertTrue(t.mem.machine().dirtyLog().flushWriteCaches(1000), "an idle vCPU holds up no round");
        t.cpu.syncWriteCache(); // the executor's check between blocks
        rerun(t);
        assertEquals(pages(0x20, 0x40, 0x41), t.mem.takeDirty(), "marked again in the next round");
        t.mem.stopLogDirty();
    }

    @Test
    void withoutTheWriteEntryDropStoresWouldGoUnmarked() {
        // why a round must flush the vCPUs' write entries: the fast path does not mark
        CpuTestSupport t = new CpuTestSupport();
        t.flat32(0x1000, STORES);
        t.mem.startLogDirty();
        t.runToHlt();
        t.mem.takeDirty();
        rerun(t);
        assertEquals(new BitSet(), t.mem.takeDirty(), "stores through kept write entries are not seen");
        t.mem.stopLogDirty();
    }

    @Test
    void writeEntriesFilledBeforeLoggingStartedAreDroppedByTheFirstFlush() {
        CpuTestSupport t = new CpuTestSupport();
        t.flat32(0x1000, STORES);
        t.runToHlt(); // write entries filled while nothing logs
        t.mem.startLogDirty();
        assertTrue(t.mem.machine().dirtyLog().flushWriteCaches(1000));
        t.cpu.syncWriteCache();
        rerun(t);
        assertEquals(pages(0x20, 0x40, 0x41), t.mem.takeDirty());
        t.mem.stopLogDirty();
    }

    @Test
    void pageWalkerAccessedAndDirtyBitsMarkThePageTables() {
        CpuTestSupport t = new CpuTestSupport();
        // identity map of the first 4 MiB: page directory at 0x60000, page table at 0x61000, A and D clear
        t.mem.write32(0x60000, 0x61000 | 0x3);
        for (int i = 0; i < 1024; i++) {
            t.mem.write32(0x61000 + 4 * i, i << 12 | 0x3);
        }
        t.flat32(0x1000, """
                    mov eax, 0x60000
                    mov cr3, eax
                    mov eax, cr0
                    or eax, 0x80000000
                    mov cr0, eax
                    mov dword [0x50000], 1
                    hlt
                """);
        t.mem.startLogDirty();
        t.runToHlt();
        BitSet dirty = t.mem.takeDirty();
        assertTrue(dirty.get(0x50), "the stored-to page: " + dirty);
        assertTrue(dirty.get(0x60) && dirty.get(0x61), "the walker set A/D bits in both tables: " + dirty);
        t.mem.stopLogDirty();
    }

    @Test
    void translatedBlocksMarkTheirStoresToo() {
        Map<String, String> props = Map.of("xenj.jit", "true", "xenj.jit.threshold", "0");
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        t.flat32(0x1000, """
                    mov ecx, 3000
                l:  mov eax, ecx
                    and eax, 0x3ff
                    mov [0x70000 + eax*4], ecx
                    mov [0x72000], ecx
                    dec ecx
                    jnz l
                    hlt
                """);
        t.mem.startLogDirty();
        t.runToHlt();
        assertEquals(pages(0x70, 0x72), t.mem.takeDirty());
        assertTrue(t.mem.machine().dirtyLog().flushWriteCaches(1000));
        t.cpu.syncWriteCache();
        rerun(t);
        assertEquals(pages(0x70, 0x72), t.mem.takeDirty(), "compiled blocks store through the same TLB");
        String stats = t.cpu.jitStatistics();
        assertTrue(stats != null, "the translator ran");
        t.mem.stopLogDirty();
    }
}
