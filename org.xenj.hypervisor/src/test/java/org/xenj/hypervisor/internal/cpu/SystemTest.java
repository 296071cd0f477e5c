package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;

/**
 * Protected-mode system behaviour with a tiny kernel (system.asm): privilege changes through
 * interrupt gates and the TSS, the I/O bitmap, #GP error codes, paging faults with CR2 and error
 * codes, a #DF through a task gate, and a triple fault crashing the vCPU.
 */
class SystemTest extends CpuTestSupport {

    static final int MBOX = 0x6000;

    private void boot(String test) throws IOException {
        String src;
        try (InputStream in = SystemTest.class.getResourceAsStream("system.asm")) {
            src = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
        byte[] code = asm("%define " + test + " 1\n" + src);
        load(0x1000, code);
        cpu.enterFlatProtectedMode32(0);
        cpu.setEip(0x1000);
        cpu.setReg32(Cpu.ESP, 0x90000);
    }

    /** Runs with exception delivery until the CPU halts. */
    private void runUntilHalt() {
        for (int i = 0; i < 1000 && !cpu.isHalted() && !cpu.tripleFaulted(); i++) {
            cpu.runSlice(1000);
        }
        assertTrue(cpu.isHalted(), () -> "CPU did not halt\n" + cpu.stateString());
    }

    @Test
    void ringThreeInterruptGateStackSwitchAndIoBitmap() throws IOException {
        boot("TEST_RINGS");
        runUntilHalt();
        assertEquals(0x1b, mem.read32(MBOX + 0x200), "INT 0x80 frame holds the ring-3 CS");
        assertEquals(0x23, mem.read32(MBOX + 0x204), "and the ring-3 SS");
        assertEquals(0x80000 - 20, mem.read32(MBOX + 0x208), "handler runs on esp0 from the TSS");
        assertEquals(0xbeef, mem.read32(MBOX + 0x100), "IRET returned to ring 3 with the result");
        assertEquals("A", env.console.toString(), "port 0xe9 is allowed by the bitmap");
        assertEquals(13, mem.read32(MBOX), "port 0x80 is not: #GP");
        assertEquals(0, mem.read32(MBOX + 4), "#GP(0)");
        assertEquals(0x1b, mem.read32(MBOX + 0xc), "fault came from ring 3");
        assertEquals(0, cpu.getCpl());
    }

    @Test
    void pageFaultsReportCr2AndErrorCodeAndRestart() throws IOException {
        boot("TEST_PAGING");
        runUntilHalt();
        assertEquals(0x300000, mem.read32(MBOX + 0x20), "CR2 of the first fault");
        assertEquals(2, mem.read32(MBOX + 0x24), "not-present supervisor write");
        assertEquals(0x55, mem.read32(MBOX + 0x10), "faulting store was restarted after the fix-up");
        assertEquals(0x66, mem.read32(MBOX + 0x14), "4 MiB PSE page maps identity");
        assertEquals(0x60, mem.read32(MBOX + 0x18) & 0x60, "accessed and dirty set by the walk");
        assertEquals(0x301000, mem.read32(MBOX + 0x28), "CR2 of the write-protect fault");
        assertEquals(3, mem.read32(MBOX + 0x2c), "present + write, supervisor (CR0.WP)");
    }

    @Test
    void doubleFaultGoesThroughTaskGate() throws IOException {
        boot("TEST_DOUBLE_FAULT");
        runUntilHalt();
        assertEquals(0x30, mem.read32(MBOX + 0x300) & 0xffff, "running in the #DF task");
        assertTrue((mem.read32(MBOX + 0x304) & Cpu.NT) != 0, "nested task flag set");
        assertEquals(0, mem.read32(MBOX + 0x308), "#DF error code 0");
        assertEquals(0x60000 - 4, cpu.getReg32(Cpu.ESP), "stack of the #DF task, error code pushed");
        assertTrue((cpu.getCr(0) & Cpu.CR0_TS) != 0, "task switch sets CR0.TS");
    }

    @Test
    void tripleFaultCrashesTheVcpuWithStateLogged() throws IOException {
        boot("TEST_TRIPLE_FAULT");
        List<String> log = new ArrayList<>();
        CpuExecutor ex = new CpuExecutor(cpu, env, log::add);
        RunExit exit = ex.run(System.nanoTime() + 5_000_000_000L);
        assertEquals(RunExit.CRASH, exit);
        assertEquals(1, log.size());
        assertTrue(log.get(0).contains("triple fault"), log.get(0));
        assertTrue(log.get(0).contains("CR0="), "state dump included");
        assertNotNull(ex.crashReport());
    }
}
