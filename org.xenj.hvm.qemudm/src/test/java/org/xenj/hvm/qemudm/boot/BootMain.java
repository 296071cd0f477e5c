package org.xenj.hvm.qemudm.boot;

import java.nio.file.Path;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;

/**
 * Diagnostic: boots a guest directory (bzImage + initramfs.cpio.gz) with the console on stdout.
 * Args: dir, cmdline, seconds; {@code -Dxenj.boot.apic=1} advertises the local APIC (xl's apic=1).
 */
public final class BootMain {

    private BootMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "/tmp/xenj-guest");
        String cmdline = args.length > 1 ? args[1] : "console=ttyS0";
        long seconds = args.length > 2 ? Long.parseLong(args[2]) : 120;
        DomainConfig cfg = DomainConfig.builder("boot").type(DomainType.HVM).memoryMiB(256)
                .vcpus(Integer.getInteger("xenj.boot.vcpus", 1))
                .kernel(dir.resolve("bzImage").toString()).ramdisk(dir.resolve("initramfs.cpio.gz").toString())
                .cmdline(cmdline).raw(java.util.Map.of("apic", System.getProperty("xenj.boot.apic", Integer.getInteger("xenj.boot.vcpus", 1) > 1 ? "1" : "0"))).build();
        try (DirectBootRunner r = new DirectBootRunner(cfg, System.out)) {
            long t0 = System.nanoTime();
            r.start();
            boolean done = r.waitForShutdown(seconds * 1000);
            System.out.printf("%n[boot] after %.1f s: %s, exit %s, shutdown %s%n", (System.nanoTime() - t0) / 1e9,
                    done ? "stopped" : "still running", r.lastExit(), r.shutdownReason());
            if (r.cpuExecutor() != null) { var ce = r.cpuExecutor();
                System.out.println("[boot] instructions " + ce.instructionCount());
                System.out.println(ce.cpu().stateString());
            }
        }
    }
}
