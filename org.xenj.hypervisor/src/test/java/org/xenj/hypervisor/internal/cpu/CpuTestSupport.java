package org.xenj.hypervisor.internal.cpu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/** Shared helpers: a small domain, an assembler front-end (nasm) and a scriptable platform. */
class CpuTestSupport {

    static final int MB = 1 << 20;

    /** A platform that records port writes and serves a queue of interrupt vectors. */
    static final class TestEnv implements CpuEnvironment {
        final List<int[]> outs = new ArrayList<>();
        final ArrayDeque<Integer> irqs = new ArrayDeque<>();
        final StringBuilder console = new StringBuilder();
        int timerCalls;
        /** Called on every port write (port, value) when set: a test's chipset. */
        java.util.function.BiConsumer<Integer, Integer> onOut;
        /** Called on every {@link #serviceTimers} when set: a test's timer raising interrupts at points that depend only on the instruction count. */
        Runnable onTimers;
        /** Answered (and cleared) by {@link #takeTlbFlushRequest}. */
        boolean flushRequested;

        @Override
        public boolean takeTlbFlushRequest() {
            boolean f = flushRequested;
            flushRequested = false;
            return f;
        }

        @Override
        public int ioRead(int port, int size) {
            return port == 0x71 ? 0x42 : -1;
        }

        @Override
        public void ioWrite(int port, int size, int value) {
            if (outs.size() >= 10_000) {
                return; // random code can write ports forever; keep what tests look at
            }
            if (onOut != null) {
                onOut.accept(port, value);
            }
            if (port == 0xe9) {
                console.append((char) (value & 0xff));
            }
            outs.add(new int[] {port, size, value});
        }

        @Override
        public long mmioRead(long gpa, int size) {
            return -1L;
        }

        @Override
        public void mmioWrite(long gpa, int size, long value) {
        }

        @Override
        public synchronized boolean interruptPending() {
            return !irqs.isEmpty();
        }

        @Override
        public synchronized int acknowledgeInterrupt() {
            Integer v = irqs.poll();
            return v == null ? -1 : v;
        }

        @Override
        public long serviceTimers(long nowNanos) {
            timerCalls++;
            if (onTimers != null) {
                onTimers.run();
            }
            return Long.MAX_VALUE;
        }
    }

    final TestEnv env = new TestEnv();
    final DomainMemory mem;
    final Cpu cpu;

    CpuTestSupport() {
        this(16);
    }

    CpuTestSupport(int megabytes) {
        MachineMemory machine = new MachineMemory(64L * MB);
        mem = new DomainMemory(machine, 1);
        mem.populate(0, megabytes * 256);
        cpu = new Cpu(mem, env);
    }

    /** Where {@link #desc} writes descriptors: the GDT of the tests that build their own. */
    static final int GDT = 0x800;

    /** Writes GDT entry {@code index}: base, limit (byte units unless G), access byte, flags nibble (G D/B). */
    void desc(int index, int base, int limit, int access, int flags) {
        int lo = (limit & 0xffff) | (base << 16);
        int hi = ((base >>> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000);
        mem.write32(GDT + index * 8, lo);
        mem.write32(GDT + index * 8 + 4, hi);
    }

    void load(long gpa, byte[] code) {
        mem.write(gpa, code, 0, code.length);
    }

    /** Assembles {@code source} with nasm (flat binary, {@code org} given in the source). */
    static byte[] asm(String source) {
        try {
            Path dir = Files.createTempDirectory("xenj-asm");
            Path src = dir.resolve("t.asm");
            Path out = dir.resolve("t.bin");
            Files.writeString(src, source, StandardCharsets.UTF_8);
            Process p = new ProcessBuilder("nasm", "-f", "bin", "-o", out.toString(), src.toString())
                    .redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("nasm failed: " + log + "\n" + source);
            }
            byte[] b = Files.readAllBytes(out);
            Files.delete(out);
            Files.delete(src);
            Files.delete(dir);
            return b;
        } catch (IOException e) {
            throw new IllegalStateException("nasm not runnable", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Assembles 32-bit code at {@code org}, loads it there, enters flat protected mode at it. */
    void flat32(int org, String body) {
        byte[] code = asm("bits 32\norg " + org + "\n" + body + "\n");
        load(org, code);
        cpu.enterFlatProtectedMode32(0);
        cpu.setEip(org);
        cpu.setReg32(Cpu.ESP, 0x80000);
    }

    /** Runs until HLT and checks that it got there. */
    void runToHlt() {
        int r = cpu.runTest(10_000_000);
        if (r != -1) {
            throw new AssertionError("expected HLT, got " + r + " (error " + cpu.lastErrorCode() + ")\n" + cpu.stateString());
        }
    }

    /** Runs with exception and interrupt delivery (as the executor does) until HLT. */
    void runDeliveringToHlt() {
        for (int i = 0; i < 10_000 && !cpu.isHalted() && !cpu.tripleFaulted(); i++) {
            cpu.runSlice(1000);
        }
        if (!cpu.isHalted()) {
            throw new AssertionError("CPU did not halt\n" + cpu.stateString());
        }
    }

    int reg(int r) {
        return cpu.getReg32(r);
    }

    boolean flag(int f) {
        return (cpu.getEflags() & f) != 0;
    }

    /** A CPU built while the given system properties (translator options) are set; they are put back afterwards. */
    static CpuTestSupport withProperties(java.util.Map<String, String> props) {
        java.util.Map<String, String> old = new java.util.HashMap<>();
        props.forEach((k, v) -> old.put(k, System.getProperty(k)));
        props.forEach(System::setProperty);
        try {
            return new CpuTestSupport();
        } finally {
            old.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }
}
