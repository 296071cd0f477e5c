package org.xenj.hypervisor.internal.builder;

import java.nio.charset.StandardCharsets;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.spi.GuestMemory;

/**
 * Direct kernel boot by the Linux x86 32-bit boot protocol, in place of firmware and a boot
 * loader: the protected-mode kernel at 1 MiB, the initrd as high as the kernel allows, the
 * command line and zero page in low memory, and a GDT with flat __BOOT_CS (0x10) and __BOOT_DS
 * (0x18). The CPU is then to enter {@link EntryState#eip} in 32-bit protected mode, paging and
 * interrupts off, ESI = zero page, EBP/EDI/EBX = 0.
 */
public final class LinuxDirectBoot {

    public static final long GDT_ADDRESS = 0x6000;
    public static final long ZERO_PAGE_ADDRESS = 0x7000;
    public static final long CMDLINE_ADDRESS = 0x8000;
    public static final long KERNEL_ADDRESS = 0x100000;
    public static final int BOOT_CS = 0x10;
    public static final int BOOT_DS = 0x18;
    /** Flat 4 GiB code (execute/read, accessed) and data (read/write, accessed) descriptors, 32-bit, 4 KiB granular. */
    static final long FLAT_CODE = 0x00cf9b000000ffffL;
    static final long FLAT_DATA = 0x00cf93000000ffffL;

    /** Where the CPU starts; EAX and EBX are what a multiboot loader hands over (0 otherwise). */
    public record EntryState(int eip, int esi, long gdtBase, int gdtLimit, int codeSelector, int dataSelector, int eax,
            int ebx) {
        public EntryState(int eip, int esi, long gdtBase, int gdtLimit, int codeSelector, int dataSelector) {
            this(eip, esi, gdtBase, gdtLimit, codeSelector, dataSelector, 0, 0);
        }

        /** Firmware boot: the vCPU starts in the processor's power-on state at the reset vector (compared by identity). */
        public static final EntryState RESET_VECTOR = new EntryState(0xfff0, 0, 0, 0xffff, 0xf000, 0);

        public boolean resetVector() {
            return this == RESET_VECTOR;
        }
    }

    /** Writes the boot GDT (null, null, flat code 0x10, flat data 0x18) and returns its limit. */
    static int writeBootGdt(GuestMemory memory) {
        long[] gdt = {0, 0, FLAT_CODE, FLAT_DATA};
        for (int i = 0; i < gdt.length; i++) {
            memory.write32(GDT_ADDRESS + i * 8L, (int) gdt[i]);
            memory.write32(GDT_ADDRESS + i * 8L + 4, (int) (gdt[i] >>> 32));
        }
        return gdt.length * 8 - 1;
    }

    /** Where things went, for logs and tests. */
    public record Layout(long kernelEnd, long initrdAddress, long initrdSize) {
    }

    private Layout layout;

    public Layout layout() {
        return layout;
    }

    public EntryState load(GuestMemory memory, E820Map map, BzImage kernel, byte[] initrd, String cmdline) {
        long ramTop = map.ramTop();
        byte[] pm = kernel.protectedModeKernel();
        long kernelEnd = KERNEL_ADDRESS + pm.length;
        long needed = Math.max(kernelEnd, kernel.preferredAddress() + kernel.initSize());
        if (needed > ramTop) {
            throw new HypervisorException("the kernel needs at least " + ((needed + (1 << 20) - 1) >> 20)
                    + " MiB of RAM to unpack; the domain has " + (ramTop >> 20) + " MiB");
        }
        byte[] cmd = (cmdline == null ? "" : cmdline).getBytes(StandardCharsets.US_ASCII);
        if (cmd.length > kernel.cmdlineSize()) {
            throw new HypervisorException("kernel command line is " + cmd.length + " bytes; this kernel accepts at most "
                    + kernel.cmdlineSize());
        }

        ZeroPage zeroPage = new ZeroPage(kernel);
        memory.write(KERNEL_ADDRESS, pm, 0, pm.length);
        long initrdAddress = 0;
        if (initrd != null && initrd.length > 0) {
            long top = Math.min(kernel.initrdAddrMax() + 1, ramTop);
            initrdAddress = (top - initrd.length) & ~0xfffL;
            if (initrdAddress < needed) {
                throw new HypervisorException("the ramdisk (" + (initrd.length >> 10) + " KiB) does not fit above the kernel in "
                        + (ramTop >> 20) + " MiB of RAM");
            }
            memory.write(initrdAddress, initrd, 0, initrd.length);
            zeroPage.ramdisk(initrdAddress, initrd.length);
        }
        byte[] cmdWithNul = new byte[cmd.length + 1];
        System.arraycopy(cmd, 0, cmdWithNul, 0, cmd.length);
        memory.write(CMDLINE_ADDRESS, cmdWithNul, 0, cmdWithNul.length);
        zeroPage.commandLine(CMDLINE_ADDRESS);
        zeroPage.memoryMap(map);
        byte[] zp = zeroPage.bytes();
        memory.write(ZERO_PAGE_ADDRESS, zp, 0, zp.length);

        int gdtLimit = writeBootGdt(memory);
        layout = new Layout(kernelEnd, initrdAddress, initrd == null ? 0 : initrd.length);
        return new EntryState(kernel.code32Start(), (int) ZERO_PAGE_ADDRESS, GDT_ADDRESS, gdtLimit, BOOT_CS, BOOT_DS);
    }
}
