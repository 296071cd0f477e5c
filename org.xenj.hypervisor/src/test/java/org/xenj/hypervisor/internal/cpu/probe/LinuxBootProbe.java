package org.xenj.hypervisor.internal.cpu.probe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.CpuExecutor;
import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * Boots a Linux bzImage (32-bit boot protocol) on the CPU with {@link MiniPc}, printing the serial
 * console, for finding CPU bugs with a real kernel. Not a unit test:
 *
 * <pre>
 * java -cp org.xenj.hypervisor/target/classes:org.xenj.hypervisor/target/test-classes \
 *   org.xenj.hypervisor.internal.cpu.probe.LinuxBootProbe bzImage [initrd] [seconds] [cmdline]
 * </pre>
 */
public final class LinuxBootProbe {

    private static final int ZERO_PAGE = 0x10000, CMDLINE = 0x20000, GDT = 0x1000;
    private static final int MEM_MB = 128;

    private LinuxBootProbe() {
    }

    public static void main(String[] args) throws IOException {
        byte[] kernel = Files.readAllBytes(Path.of(args[0]));
        byte[] initrd = args.length > 1 && !args[1].equals("-") ? Files.readAllBytes(Path.of(args[1])) : new byte[0];
        double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 60;
        String cmdline = args.length > 3 ? args[3] : "console=ttyS0 earlyprintk=serial,ttyS0,115200 tsc=reliable";
        // optional: the already decompressed vmlinux (ELF), entered at its 32-bit entry to skip decompression
        byte[] vmlinux = args.length > 4 ? Files.readAllBytes(Path.of(args[4])) : null;

        MachineMemory machine = new MachineMemory((MEM_MB + 16L) << 20);
        DomainMemory mem = new DomainMemory(machine, 1);
        mem.populate(0, MEM_MB * 256);
        MiniPc pc = new MiniPc(System.out);
        Cpu cpu = new Cpu(mem, pc);
        cpu.setFpu(new X87(cpu.fpuMemory()));

        int setupSects = kernel[0x1f1] & 0xff;
        if (setupSects == 0) {
            setupSects = 4;
        }
        int pmOffset = (setupSects + 1) * 512;
        int entry = 0x100000;
        if (vmlinux == null) {
            mem.write(0x100000, kernel, pmOffset, kernel.length - pmOffset);
        } else {
            entry = loadElf(mem, vmlinux);
        }
        // zero page: copy the setup header, then fill in what a boot loader provides
        int hdrEnd = 0x202 + (kernel[0x201] & 0xff);
        mem.write(ZERO_PAGE + 0x1f1, kernel, 0x1f1, hdrEnd - 0x1f1);
        mem.write8(ZERO_PAGE + 0x210, 0xff); // type_of_loader: undefined
        mem.write8(ZERO_PAGE + 0x211, mem.read8(ZERO_PAGE + 0x211) | 0x80); // CAN_USE_HEAP
        mem.write16(ZERO_PAGE + 0x224, 0xde00);
        byte[] cl = (cmdline + "\0").getBytes(StandardCharsets.US_ASCII);
        mem.write(CMDLINE, cl, 0, cl.length);
        mem.write32(ZERO_PAGE + 0x228, CMDLINE);
        if (initrd.length > 0) {
            int at = (MEM_MB << 20) - ((initrd.length + 0xfffff) & ~0xfffff) - (1 << 20);
            mem.write(at, initrd, 0, initrd.length);
            mem.write32(ZERO_PAGE + 0x218, at);
            mem.write32(ZERO_PAGE + 0x21c, initrd.length);
        }
        // e820: low RAM, reserved hole, high RAM
        int e = ZERO_PAGE + 0x2d0;
        e820(mem, e, 0, 0x9fc00, 1);
        e820(mem, e + 20, 0xf0000, 0x10000, 2);
        e820(mem, e + 40, 0x100000, (MEM_MB << 20) - 0x100000, 1);
        mem.write8(ZERO_PAGE + 0x1e8, 3);
        // boot GDT: 0x10 code, 0x18 data
        mem.write32(GDT + 0x10, 0x0000ffff);
        mem.write32(GDT + 0x14, 0x00cf9a00);
        mem.write32(GDT + 0x18, 0x0000ffff);
        mem.write32(GDT + 0x1c, 0x00cf9200);
        cpu.setGdtr(GDT, 0x1f);
        cpu.setCr(0, cpu.getCr(0) | 1);
        cpu.loadSegment(Cpu.CS, 0x10);
        for (int s : new int[] {Cpu.DS, Cpu.ES, Cpu.SS, Cpu.FS, Cpu.GS}) {
            cpu.loadSegment(s, 0x18);
        }
        cpu.setCr(0, cpu.getCr(0) & ~0x60000000);
        cpu.setReg32(Cpu.ESI, ZERO_PAGE);
        cpu.setEip(entry);
        cpu.setEflags(2);

        CpuExecutor ex = new CpuExecutor(cpu, pc, s -> System.out.println("\n*** " + s));
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        RunExit r = RunExit.PREEMPTED;
        long report = start + 20_000_000_000L;
        // optional commands typed once the shell prompt appears
        String script = System.getProperty("probe.type");
        boolean typed = false;
        while (System.nanoTime() < end) {
            if (script != null && !typed && pc.console.indexOf("# ") >= 0) {
                typed = true;
                pc.type(script.replace("\\n", "\n") + "\n");
            }
            if (System.nanoTime() > report) {
                report += 20_000_000_000L;
                System.out.printf(Locale.ROOT, "%n*** probe status: %d instructions, EIP=%08x EFLAGS=%08x%n", ex.instructionCount(),
                        cpu.getEip(), cpu.getEflags());
            }
            r = ex.run(System.nanoTime() + 10_000_000L);
            if (r == RunExit.BLOCKED) {
                long next = pc.serviceTimers(System.nanoTime());
                if (!ex.wakeupPending()) {
                    long wait = Math.min(next, System.nanoTime() + 10_000_000L) - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                }
            } else if (r != RunExit.PREEMPTED) {
                break;
            }
        }
        double dt = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "%n*** probe: exit=%s after %.1f s, %d instructions (%.1f MIPS)%n%s%n", r, dt,
                ex.instructionCount(), ex.instructionCount() / dt / 1e6, cpu.stateString());
    }

    /** Loads the PT_LOAD segments of a 32-bit ELF at their physical addresses; returns the entry. */
    private static int loadElf(DomainMemory mem, byte[] elf) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(elf).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int phoff = b.getInt(0x1c);
        int phentsize = b.getShort(0x2a) & 0xffff;
        int phnum = b.getShort(0x2c) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            int ph = phoff + i * phentsize;
            if (b.getInt(ph) != 1) {
                continue;
            }
            int off = b.getInt(ph + 4);
            int paddr = b.getInt(ph + 12);
            int filesz = b.getInt(ph + 16);
            mem.write(paddr, elf, off, filesz);
        }
        int entry = b.getInt(0x18);
        return entry < 0 ? entry - 0xc0000000 : entry; // virtual 0xC... -> physical
    }

    private static void e820(DomainMemory mem, int at, long addr, long size, int type) {
        mem.write32(at, (int) addr);
        mem.write32(at + 4, (int) (addr >>> 32));
        mem.write32(at + 8, (int) size);
        mem.write32(at + 12, (int) (size >>> 32));
        mem.write32(at + 16, type);
    }
}
