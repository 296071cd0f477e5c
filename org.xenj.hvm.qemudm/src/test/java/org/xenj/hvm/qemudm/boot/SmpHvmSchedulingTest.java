package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.VCpuInfo;
import org.xenj.hypervisor.api.VCpuState;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hypervisor.internal.workload.WorkloadGuestBuilder;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * What {@code xen:vcpu-list}, {@code xen:vcpu-pin} and {@code xen:sched-credit -w} call, on a
 * 2-vCPU HVM domain run by the domain core and the credit scheduler (issue 13): a tiny Multiboot
 * kernel (made here) starts its AP with INIT-STARTUP-STARTUP through the local APIC's ICR, as
 * Linux does, and both vCPUs spin. The list shows both vCPUs running with their pCPUs; pinning
 * vCPU 1 to pCPU 0 moves it there and it keeps running; with both vCPUs and a spinning workload
 * domain on pCPU 0, raising the HVM domain's weight from 256 to 768 raises its share of that pCPU.
 */
class SmpHvmSchedulingTest {

    static final int LOAD = 0x100000;

    /**
     * A flat Multiboot (v1) image with the header's address fields: load and enter at 1 MiB in flat
     * 32-bit protected mode. The BSP puts {@code jmp $} at 0x8000, sends INIT, INIT de-assert and
     * two STARTUPs with vector 8 to APIC ID 1, and spins; the AP spins in real mode at 0800:0000.
     */
    static byte[] kernel() {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        int magic = 0x1badb002, flags = 1 << 16;
        b.putInt(magic).putInt(flags).putInt(-(magic + flags));
        b.putInt(LOAD).putInt(LOAD).putInt(0).putInt(0).putInt(LOAD + 32); // header, load, load end (file), bss end, entry
        b.put(new byte[] { 0x66, (byte) 0xc7, 0x05, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xeb, (byte) 0xfe }); // mov word [0x8000], jmp $
        apicWrite(b, 0x310, 1 << 24); // destination: APIC ID 1
        apicWrite(b, 0x300, 0x4500); // INIT, assert
        apicWrite(b, 0x300, 0x8500); // INIT, level de-assert
        apicWrite(b, 0x300, 0x4608); // STARTUP, vector 8: 0800:0000
        apicWrite(b, 0x300, 0x4608);
        b.put((byte) 0xeb).put((byte) 0xfe); // jmp $
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    /** mov dword [0xFEE00000 + reg], value */
    private static void apicWrite(ByteBuffer b, int reg, int value) {
        b.put((byte) 0xc7).put((byte) 0x05).putInt(0xfee00000 + reg).putInt(value);
    }

    @Test
    void vcpuListPinAndCreditWeightActOnAnSmpHvmDomain(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("smp-spin.bin");
        Files.write(image, kernel());
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addBuilder(new WorkloadGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel());
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("96M", 2, "16M", "credit"), plugins)) {
            Domain smp = xen.create(DomainConfig.builder("smp").type(DomainType.HVM).memoryMiB(16).vcpus(2)
                    .kernel(image.toString()).raw(Map.of("xen_platform_pci", "0")).build());
            int id = smp.id();
            // the AP leaves wait-for-SIPI and runs: both vCPUs accumulate CPU time
            assertTrue(await(() -> xen.vcpus(id).stream().allMatch(v -> v.cpuTimeNanos() > 20_000_000L), 60_000),
                    "both vCPUs never ran: " + show(xen.vcpus(id)));
            List<VCpuInfo> list = xen.vcpus(id);
            System.out.println("[smp-sched] vcpu-list after start:\n" + show(list));
            assertEquals(2, list.size());
            for (VCpuInfo v : list) {
                assertTrue(v.state() == VCpuState.RUNNING || v.state() == VCpuState.RUNNABLE, "a spinning vCPU: " + show(list));
                assertTrue(v.state() != VCpuState.RUNNING || v.pcpu() == 0 || v.pcpu() == 1, show(list));
            }

            // vcpu-pin smp 1 0: vCPU 1 runs on pCPU 0 only from then on, and keeps running
            xen.pinVCpu(id, 1, new int[] { 0 });
            assertArrayEquals(new int[] { 0 }, xen.vcpus(id).get(1).hardAffinity());
            assertTrue(await(() -> xen.vcpus(id).get(1).pcpu() == 0, 10_000), "vCPU 1 did not move: " + show(xen.vcpus(id)));
            long before = xen.vcpus(id).get(1).cpuTimeNanos();
            for (int i = 0; i < 20; i++) {
                VCpuInfo v = xen.vcpus(id).get(1);
                assertTrue(v.state() != VCpuState.RUNNING || v.pcpu() == 0, "pinned vCPU 1 ran elsewhere: " + show(xen.vcpus(id)));
                Thread.sleep(25);
            }
            assertTrue(await(() -> xen.vcpus(id).get(1).cpuTimeNanos() > before + 20_000_000L, 10_000),
                    "pinned vCPU 1 stopped running: " + show(xen.vcpus(id)));
            System.out.println("[smp-sched] vcpu-list after vcpu-pin smp 1 0:\n" + show(xen.vcpus(id)));

            // sched-credit -w: both HVM vCPUs and a spinning workload domain share pCPU 0
            xen.pinVCpu(id, 0, new int[] { 0 });
            Domain spin = xen.create(DomainConfig.builder("spin").type(DomainType.WORKLOAD).workload("spin").memoryMiB(4).cpus("0").build());
            double equal = share(xen, id, spin.id());
            xen.cpupools().setDomainParams(id, Map.of("weight", "768"));
            assertEquals("768", xen.cpupools().domainParams(id).get("weight"));
            double weighted = share(xen, id, spin.id());
            System.out.printf("[smp-sched] CPU time smp/spin on pCPU 0: %.2f at weights 256/256, %.2f at 768/256%n", equal, weighted);
            assertTrue(weighted > 1.8 * equal && weighted > 1.5, String.format("weight 768 did not raise the share: %.2f -> %.2f", equal, weighted));
        }
    }

    /** The HVM domain's CPU time over the workload domain's in a 3 s window. */
    private static double share(HypervisorCore xen, int smp, int spin) throws InterruptedException {
        Thread.sleep(500); // credits settle after the change
        long a0 = time(xen, smp), b0 = time(xen, spin);
        Thread.sleep(3000);
        long a = time(xen, smp) - a0, b = time(xen, spin) - b0;
        assertTrue(a > 0 && b > 0, "a domain did not run: " + a + " / " + b);
        return (double) a / b;
    }

    private static long time(HypervisorCore xen, int domid) {
        return xen.vcpus(domid).stream().mapToLong(VCpuInfo::cpuTimeNanos).sum();
    }

    private static String show(List<VCpuInfo> list) {
        StringBuilder s = new StringBuilder();
        for (VCpuInfo v : list) {
            s.append(String.format("  %s vcpu %d pcpu %d %s %.3f s affinity %s%n", v.domainName(), v.vcpu(), v.pcpu(), v.state(),
                    v.cpuTimeNanos() / 1e9, java.util.Arrays.toString(v.hardAffinity())));
        }
        return s.toString();
    }

    private static boolean await(BooleanSupplier condition, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }
}
