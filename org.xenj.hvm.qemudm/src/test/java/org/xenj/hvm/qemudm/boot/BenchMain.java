package org.xenj.hvm.qemudm.boot;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;

/**
 * The Linux boot benchmark: boots the guest of shared/bench/build-linux-guest.sh and times its
 * {@code @@BENCH} markers as the peers' harness does (boot = process start to the BOOT marker,
 * work = BOOT to WORK-END). Last line: {@code xenj boot_s=<s> work_s=<s> md5=<ok|bad>}.
 * Args: guest dir, expected md5, timeout seconds.
 */
public final class BenchMain {

    private static final Pattern MD5 = Pattern.compile("@@BENCH MD5-END up=\\S+ md5=([0-9a-f]+)");

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String expectedMd5 = args.length > 1 ? args[1] : "77377273b0a4b61febdbf7bbf52b9db9";
        long timeoutMs = (args.length > 2 ? Long.parseLong(args[2]) : 1800) * 1000;
        long jvmStartMs = ManagementFactory.getRuntimeMXBean().getStartTime();
        String cmdline = Files.readString(dir.resolve("cmdline")).trim();
        // -Dxenj.bench.disk=<image>: firmware boot instead (SeaBIOS from that IDE disk, as peers.sh's qemu-disk)
        String disk = System.getProperty("xenj.bench.disk", "");
        DomainConfig cfg = disk.isEmpty()
                ? DomainConfig.builder("bench").type(DomainType.HVM).memoryMiB(256)
                        .kernel(dir.resolve("bzImage").toString()).ramdisk(dir.resolve("initramfs.cpio.gz").toString())
                        .cmdline(cmdline).build()
                : DomainConfig.builder("bench").type(DomainType.HVM).memoryMiB(256)
                        .disks(java.util.List.of("format=raw, vdev=hda, access=rw, target=" + disk))
                        .raw(java.util.Map.of("boot", "c", "xen_platform_pci", "0")).build();
        boolean echo = Boolean.getBoolean("xenj.bench.echo");
        try (org.xenj.dom0.block.internal.BlockImagesService blocks = new org.xenj.dom0.block.internal.BlockImagesService();
                DirectBootRunner vm = new DirectBootRunner(cfg, echo ? System.err : null,
                        new org.xenj.hvm.qemudm.internal.QemuDeviceModel(blocks))) {
            vm.start();
            // -Dxenj.bench.profile=<guest System.map>: where the host time goes, per phase (diagnostic)
            String map = System.getProperty("xenj.bench.profile", "");
            EipProfile profile = map.isEmpty() ? null
                    : new EipProfile(Path.of(map), () -> vm.cpuExecutor() == null ? 0 : vm.cpuExecutor().cpu().getEip(), 200);
            if (profile != null) {
                // -Dxenj.bench.phases=a|b|…: console texts, in order, that start a new profile table
                Thread marks = new Thread(() -> {
                    int at = 0;
                    for (String mark : System.getProperty("xenj.bench.phases", "").split("\\|")) {
                        try {
                            if (mark.isEmpty() || (at = vm.waitFor(mark, at, timeoutMs)) < 0) {
                                return;
                            }
                        } catch (InterruptedException e) {
                            return;
                        }
                        profile.phase(mark);
                    }
                }, "profile-phases");
                marks.setDaemon(true);
                marks.start();
            }
            int boot = vm.waitFor("@@BENCH BOOT", 0, timeoutMs);
            if (profile != null) {
                profile.phase("md5");
            }
            double bootS = boot < 0 ? Double.NaN : (System.currentTimeMillis() - jvmStartMs) / 1000.0;
            long bootNs = System.nanoTime();
            double bootCpu = processCpuSeconds();
            double bootVcpu = vcpuCpuSeconds();
            if (profile != null && boot >= 0 && vm.waitFor("@@BENCH MD5-END", boot, timeoutMs) >= 0) {
                profile.phase("awk");
            }
            int end = boot < 0 ? -1 : vm.waitFor("@@BENCH WORK-END", boot, timeoutMs);
            if (profile != null) {
                profile.close();
                profile.print(System.out, 25);
            }
            double workS = end < 0 ? Double.NaN : (System.nanoTime() - bootNs) / 1e9;
            double workCpu = end < 0 ? Double.NaN : processCpuSeconds() - bootCpu;
            double workVcpu = end < 0 ? Double.NaN : vcpuCpuSeconds() - bootVcpu;
            // the vCPU thread alone: the translator's and interpreter's own cost, least disturbed by a loaded host
            System.out.printf("# vcpu thread cpu: boot %s work %s%n", fmt(bootVcpu), fmt(workVcpu));
            Matcher m = MD5.matcher(vm.consoleText());
            String md5 = m.find() && m.group(1).equals(expectedMd5) ? "ok" : "bad";
            if (end >= 0) {
                vm.waitForShutdown(60_000); // the guest ends with poweroff -f
            }
            long insns = vm.cpuExecutor() == null ? 0 : vm.cpuExecutor().instructionCount();
            System.out.println("# guest instructions: " + insns + ", shutdown: " + vm.shutdownReason());
            if (vm.cpuExecutor() != null) {
                String jit = vm.cpuExecutor().cpu().jitStatistics();
                System.out.println("# " + vm.cpuExecutor().cpu().blockCacheStatistics());
                System.out.println("# " + (jit == null ? "translator off" : jit));
            }
            if (boot < 0 || end < 0) {
                System.out.println("# console tail:\n" + BootText.tail(vm.consoleText()));
            }
            // issue 11 asks for the peak resident set of xenj with its one guest (the kernel's high-water mark)
            System.out.println("# peak RSS: " + procStatus("VmHWM") + " (heap max " + Runtime.getRuntime().maxMemory() / (1 << 20)
                    + " MiB, guest " + cfg.memoryMiB() + " MiB)");
            // CPU seconds of the whole JVM (vCPU, compile thread, GC, devices): the contention-robust view, as peers.sh's *_cpu
            System.out.printf("xenj boot_s=%s work_s=%s md5=%s boot_cpu=%s work_cpu=%s%n", fmt(bootS), fmt(workS), md5,
                    fmt(boot < 0 ? Double.NaN : bootCpu), fmt(workCpu));
        }
    }

    /** A line of /proc/self/status ("VmHWM" → "612344 kB"), or "n/a" off Linux. */
    private static String procStatus(String key) {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (l.startsWith(key + ":")) {
                    return l.substring(key.length() + 1).trim();
                }
            }
        } catch (java.io.IOException e) {
            // not Linux: said below
        }
        return "n/a";
    }

    private static double processCpuSeconds() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() / 1e9 : Double.NaN;
    }

    /** CPU seconds of the vCPU threads ("xenj-vcpu-…"). */
    private static double vcpuCpuSeconds() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long ns = 0;
        for (java.lang.management.ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (t != null && t.getThreadName().startsWith("xenj-vcpu")) {
                ns += Math.max(0, mx.getThreadCpuTime(t.getThreadId()));
            }
        }
        return ns / 1e9;
    }

    private static String fmt(double s) {
        return Double.isNaN(s) ? "NA" : String.format("%.2f", s);
    }
}
