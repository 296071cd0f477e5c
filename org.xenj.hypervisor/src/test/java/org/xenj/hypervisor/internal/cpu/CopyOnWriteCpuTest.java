package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.hypercall.PhysicalGuestMemory;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Copy-on-write frames seen from the CPU (a clone's memory, {@link DomainMemory#shareForClone}): every
 * store of a vCPU — plain, string, locked, a translated block's, the page walker's accessed/dirty
 * bits, through an alias whose read entry was filled while the frame was shared — lands in a frame of
 * its own domain, and the other sharer keeps its bytes. Each of these fails if its break is removed.
 */
class CopyOnWriteCpuTest {

    private static final String STORES = """
                mov eax, [0x30000]
                mov [0x20000], eax
                mov edi, 0x40000
                mov ecx, 2048
                mov eax, 0x5a5a5a5a
                cld
                rep stosd
                lock inc dword [0x21000]
                hlt
            """;

    /** A second domain (the clone) mapping every frame of {@code t}'s domain shared. */
    private static DomainMemory twin(CpuTestSupport t) {
        MachineMemory machine = t.mem.machine();
        DomainMemory twin = new DomainMemory(machine, 2);
        twin.populate(0, t.mem.gfnLimit());
        twin.adoptShared(t.mem.shareForClone());
        t.cpu.syncWriteCache(); // what the executor does before the vCPU runs again: its write entries go
        return twin;
    }

    private static void storesLandInTheirOwnDomain(CpuTestSupport t) {
        t.mem.write32(0x30000, 0x12345678);
        t.mem.write32(0x21000, 41);
        t.flat32(0x1000, STORES);
        t.runToHlt(); // every entry filled while the frames were the domain's own
        t.mem.write32(0x20000, 0);
        t.mem.write32(0x21000, 41);
        t.mem.write(0x40000, new byte[8192], 0, 8192);
        DomainMemory twin = twin(t);
        MachineMemory machine = t.mem.machine();
        assertEquals(MachineMemory.SHARED, machine.owner(t.mem.mfn(0x20)));
        t.cpu.setEip(0x1000);
        t.runToHlt();
        assertEquals(0x12345678, t.mem.read32(0x20000), "the domain sees its store");
        assertEquals(0, twin.read32(0x20000), "the other sharer does not");
        assertEquals(0x5a5a5a5a, t.mem.read32(0x41ffc));
        assertEquals(0, twin.read32(0x40000), "nor the string store");
        assertEquals(0, twin.read32(0x41ffc));
        assertEquals(42, t.mem.read32(0x21000));
        assertEquals(41, twin.read32(0x21000), "nor the locked increment");
        assertNotEquals(t.mem.mfn(0x20), twin.mfn(0x20));
        assertEquals(MachineMemory.SHARED, machine.owner(twin.mfn(0x30)), "a frame only read stays shared");
        assertEquals(twin.mfn(0x30), t.mem.mfn(0x30));
    }

    @Test
    void interpretedStoresUnshare() {
        storesLandInTheirOwnDomain(new CpuTestSupport());
    }

    @Test
    void translatedStoresUnshare() {
        storesLandInTheirOwnDomain(CpuTestSupport.withProperties(Map.of("xenj.jit", "true", "xenj.jit.threshold", "0")));
    }

    @Test
    void pageWalkerBitsAndAliasesUnshare() {
        pageWalkerBitsAndAliases(new CpuTestSupport());
    }

    /**
     * The same in one compiled block. (Not under the translator's lockstep check: its shadow run
     * buffers stores by linear address, so a load through an alias of a page stored to in the same
     * block differs there with or without sharing.)
     */
    @Test
    void pageWalkerBitsAndAliasesUnshareInACompiledBlock() {
        pageWalkerBitsAndAliases(CpuTestSupport.withProperties(Map.of("xenj.jit", "true", "xenj.jit.threshold", "0")));
    }

    private static void pageWalkerBitsAndAliases(CpuTestSupport t) {
        // the lockstep shadow run buffers stores by linear address: an alias load differs there, shared or not
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean("xenj.jit.lockstep"), "aliases under the lockstep check");
        // page directory at 0x60000, table at 0x61000 (identity, A and D clear); linear 0x3ff000 aliases frame 0x50
        t.mem.write32(0x60000, 0x61000 | 0x3);
        for (int i = 0; i < 1023; i++) {
            t.mem.write32(0x61000 + 4 * i, i << 12 | 0x3);
        }
        t.mem.write32(0x61000 + 4 * 1023, 0x50000 | 0x3);
        t.mem.write32(0x50000, 7);
        t.flat32(0x1000, """
                    mov eax, 0x60000
                    mov cr3, eax
                    mov eax, cr0
                    or eax, 0x80000000
                    mov cr0, eax
                    mov ebx, [0x3ff000]
                    mov dword [0x50000], 9
                    mov ecx, [0x3ff000]
                    hlt
                """);
        DomainMemory twin = twin(t);
        t.runToHlt();
        assertEquals(7, t.reg(Cpu.EBX));
        assertEquals(9, t.reg(Cpu.ECX), "the alias read after the store sees the domain's own copy, not the shared frame");
        assertEquals(9, t.mem.read32(0x50000));
        assertEquals(7, twin.read32(0x50000), "the other sharer keeps its byte");
        assertTrue((t.mem.read32(0x60000) & 0x20) != 0, "the walker set the accessed bit in the domain's directory");
        assertEquals(0x61000 | 0x3, twin.read32(0x60000), "not in the other sharer's");
        assertEquals(0x50000 | 0x3, twin.read32(0x61000 + 4 * 0x50), "nor its table's dirty bit");
        assertTrue((t.mem.read32(0x61000 + 4 * 0x50) & 0x40) != 0);
    }

    @Test
    void hypercallCopiesAndDeviceWritesUnshare() {
        CpuTestSupport t = new CpuTestSupport();
        t.mem.write32(0x30000, 5);
        DomainMemory twin = twin(t);
        new PhysicalGuestMemory(t.mem).write32(0x30000, 6); // a hypercall's copy to an HVM guest by guest-physical address
        assertEquals(6, t.mem.read32(0x30000));
        assertEquals(5, twin.read32(0x30000));
        twin.write16(0x30ffe, 0xbeef); // a device's DMA into the clone
        assertEquals(0xbeef, twin.read16(0x30ffe));
        assertEquals(0, t.mem.read16(0x30ffe));
        t.mem.write32(0x31000, 77);
        int shared = twin.mfn(0x32);
        int taken = twin.unmapFrame(0x32); // a frame leaving the p2m by hand (add_to_physmap, grants) is the domain's own first
        assertEquals(2, t.mem.machine().owner(taken), "the caller gets a frame of the twin's own");
        assertNotEquals(shared, taken);
        assertEquals(MachineMemory.SHARED, t.mem.machine().owner(t.mem.mfn(0x32)), "the other sharer keeps the shared one");
    }

    @Test
    void framesGoBackAtTheLastReference() {
        CpuTestSupport t = new CpuTestSupport();
        MachineMemory machine = t.mem.machine();
        int free0 = machine.freeFrames();
        DomainMemory twin = twin(t);
        int frames = t.mem.gfnLimit();
        assertEquals(free0, machine.freeFrames(), "the clone's own frames went back: it maps the shared ones");
        assertEquals(frames, machine.sharedFrames());
        twin.write32(0x30000, 1);
        assertEquals(free0 - 1, machine.freeFrames(), "one frame for the write");
        t.mem.releaseAll();
        assertEquals(frames, twin.populatedFrames());
        assertEquals(frames - 1, machine.sharedFrames());
        assertEquals(free0, machine.freeFrames(), "of the first domain's frames only the one the twin had left went back");
        twin.releaseAll();
        assertEquals(0, machine.sharedFrames());
        assertEquals(free0 + frames, machine.freeFrames(), "every frame is free with its last sharer gone");
    }
}
