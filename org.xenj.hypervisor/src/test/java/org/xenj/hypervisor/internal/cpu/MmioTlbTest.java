package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.MmioRange;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.spi.MmioHandler;

/** MMIO pages are cached in the TLB with their device range: no lookup per access, and a retired range is resolved again. */
class MmioTlbTest {

    static final long BAR = 0xe000_0000L;

    /** Records offsets; answers 0x1000 * generation + offset. */
    static final class Device implements MmioHandler {
        final int generation;
        final List<Long> reads = new ArrayList<>();
        final List<Long> writes = new ArrayList<>();

        Device(int generation) {
            this.generation = generation;
        }

        @Override
        public long mmioRead(long offset, int size) {
            reads.add(offset);
            return 0x1000L * generation + offset;
        }

        @Override
        public void mmioWrite(long offset, int size, long value) {
            writes.add(offset);
        }
    }

    /** A platform with one 8 KiB device range at {@link #BAR}; OUT to port 0x80 moves the device to a new range object. */
    static final class Env implements CpuEnvironment {
        MmioRange range = new MmioRange(new Device(1), BAR, 0x2000);
        int lookups;
        int uncachedAccesses;

        @Override
        public MmioRange mmioRange(long gpa) {
            lookups++;
            return range.contains(gpa) ? range : null;
        }

        @Override
        public long mmioRead(long gpa, int size) {
            uncachedAccesses++;
            return -1L;
        }

        @Override
        public long mmioRead(MmioRange r, long offset, int size) {
            return r.handler.mmioRead(offset, size);
        }

        @Override
        public void mmioWrite(MmioRange r, long offset, int size, long value) {
            r.handler.mmioWrite(offset, size, value);
        }

        @Override
        public int ioRead(int port, int size) {
            return -1;
        }

        @Override
        public void mmioWrite(long gpa, int size, long value) {
            uncachedAccesses++;
        }

        @Override
        public boolean interruptPending() {
            return false;
        }

        @Override
        public int acknowledgeInterrupt() {
            return -1;
        }

        @Override
        public long serviceTimers(long nowNanos) {
            return Long.MAX_VALUE;
        }

        @Override
        public void ioWrite(int port, int size, int value) {
            if (port == 0x80) {
                range.retire();
                range = new MmioRange(new Device(2), BAR, 0x2000);
            }
        }
    }

    private static Cpu cpu(Env env, String body) {
        DomainMemory mem = new DomainMemory(new MachineMemory(16L << 20), 1);
        mem.populate(0, 8 << 8);
        Cpu cpu = new Cpu(mem, env);
        byte[] code = CpuTestSupport.asm("bits 32\norg 0x1000\n" + body + "\n");
        mem.write(0x1000, code, 0, code.length);
        cpu.enterFlatProtectedMode32(0);
        cpu.setEip(0x1000);
        cpu.setReg32(Cpu.ESP, 0x80000);
        return cpu;
    }

    @Test
    void repeatedAccessesReachTheDeviceWithoutALookupEach() {
        Env env = new Env();
        Cpu cpu = cpu(env, """
                mov ecx, 1000
                l: mov eax, [0xe0001004]
                mov [0xe0001ff8], eax
                mov word [0xe0000010], 1
                dec ecx
                jnz l
                hlt""");
        assertEquals(-1, cpu.runTest(10_000_000));
        Device d = (Device) env.range.handler;
        assertEquals(1000, d.reads.size());
        assertEquals(0x1004L, d.reads.get(999), "the device sees the offset into its range");
        assertEquals(2000, d.writes.size());
        assertEquals(0x1ff8L, d.writes.get(0));
        assertEquals(0x10L, d.writes.get(1));
        assertEquals(0x1004L + 0x1000, cpu.getReg32(Cpu.EAX));
        assertEquals(0, env.uncachedAccesses);
        assertEquals(2, env.lookups, "one TLB fill per MMIO page, not one per access");
    }

    @Test
    void aRetiredRangeIsDroppedAndTheNewDeviceAnswers() {
        Env env = new Env();
        Cpu cpu = cpu(env, """
                mov eax, [0xe0000020]
                mov ebx, [0xe0000024]
                out 0x80, al
                mov ecx, [0xe0000028]
                hlt""");
        Device first = (Device) env.range.handler;
        assertEquals(-1, cpu.runTest(10_000_000));
        assertEquals(0x1020, cpu.getReg32(Cpu.EAX));
        assertEquals(0x1024, cpu.getReg32(Cpu.EBX));
        assertEquals(0x2028, cpu.getReg32(Cpu.ECX), "after the move the new range object answers");
        assertEquals(List.of(0x20L, 0x24L), first.reads);
        assertEquals(2, env.lookups);
    }

    @Test
    void aRangeSmallerThanAPageIsNotCachedButStillWorks() {
        Env env = new Env();
        env.range = new MmioRange(new Device(3), BAR, 0x100);
        Cpu cpu = cpu(env, """
                mov ecx, 10
                l: mov eax, [0xe0000010]
                dec ecx
                jnz l
                hlt""");
        assertEquals(-1, cpu.runTest(10_000_000));
        assertEquals(10, env.lookups);
        assertEquals(10, env.uncachedAccesses, "goes by address (the env's range-less path)");
    }
}
