package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/** The boot tests' report of a silent console, on a spinning guest with typed bytes it never reads: no boot needed. */
class StuckReportTest {

    @TempDir
    Path dir;

    @Test
    void theReportShowsTheTypedBytesInComOneAndTheControllers() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(36).order(ByteOrder.LITTLE_ENDIAN); // multiboot: jmp $
        int magic = 0x1BADB002, flags = 0x00010000;
        b.putInt(magic).putInt(flags).putInt(-(magic + flags));
        b.putInt(0x100000).putInt(0x100000).putInt(0x100000 + 36).putInt(0).putInt(0x100000 + 32);
        b.put((byte) 0xeb).put((byte) 0xfe);
        Path spin = Files.write(dir.resolve("spin.bin"), b.array());
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        BlockImagesService blocks = new BlockImagesService();
        QemuDeviceModel qemu = new QemuDeviceModel(blocks);
        plugins.addDeviceModel(qemu);
        try (blocks; HypervisorCore xen = new HypervisorCore(CoreConfig.parse("64M", 1, "16M", "credit"), plugins)) {
            Domain d = xen.create(DomainConfig.builder("spin").type(DomainType.HVM).memoryMiB(16).kernel(spin.toString()).build());
            xen.console(d.id()).write("uname -a\n".getBytes(StandardCharsets.US_ASCII));
            String report = LinuxBootTest.stuckReport(xen, qemu, d);
            System.out.println("[stuck-report] " + report);
            assertTrue(report.contains("COM1 of d" + d.id() + ": 16550 IER=00"), report);
            assertTrue(report.contains("rx=1 backlog=8 line=low"), "one byte in the FIFO (FIFO off), the rest waiting:\n" + report);
            assertTrue(report.contains("PIC master irr=") && report.contains("IOAPIC lines=") && report.contains("vCPU 0: interrupt"),
                    report);
            xen.destroy(d.id());
        }
    }
}
