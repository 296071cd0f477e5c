package org.xenj.hvm.qemudm.boot;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.cpu.Cpu;

/**
 * Diagnostic for stuck or slow boots: boots a guest (use {@code nokaslr} so addresses are stable),
 * samples the vCPU's EIP every 20 ms into OUT/eip-samples.txt (time, eip), and once the shell
 * prompt appears dumps the guest's /proc/kallsyms into OUT/kallsyms.txt, so that samples can be
 * mapped to kernel functions. Args: guest dir, out dir, cmdline, seconds.
 */
public final class DiagMain {

    private DiagMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        String cmdline = args[2];
        long seconds = Long.parseLong(args[3]);
        DomainConfig cfg = DomainConfig.builder("diag").type(DomainType.HVM).memoryMiB(256)
                .kernel(dir.resolve("bzImage").toString()).ramdisk(dir.resolve("initramfs.cpio.gz").toString())
                .cmdline(cmdline).build();
        try (DirectBootRunner vm = new DirectBootRunner(cfg, System.out);
                PrintStream samples = new PrintStream(Files.newOutputStream(out.resolve("eip-samples.txt")))) {
            vm.start();
            Cpu cpu = vm.cpuExecutor().cpu();
            long t0 = System.nanoTime();
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    samples.printf("%.3f %08x %d%n", (System.nanoTime() - t0) / 1e9, cpu.getEip(), cpu.instructionCount());
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            sampler.setDaemon(true);
            sampler.start();
            int prompt = vm.waitFor("~ # ", 0, seconds * 1000);
            if (prompt >= 0) {
                // The marker is split in the command so that its echo does not match.
                vm.type("cat /proc/kallsyms; echo KALL\"\"SYMS-DONE\n");
                int done = vm.waitFor("KALLSYMS-DONE", prompt, 600_000);
                String text = vm.consoleText();
                Files.writeString(out.resolve("console.txt"), text);
                if (done < 0) {
                    done = text.length();
                }
                Files.writeString(out.resolve("kallsyms.txt"), text.substring(prompt, done));
                int next = vm.waitFor("~ # ", done, 60_000);
                vm.type(LinuxBootTest.COMMAND);
                int md5 = vm.waitFor("  -", next, 300_000);
                System.out.printf("%n[diag] command answered: %s after %.1f s%n", md5 >= 0, (System.nanoTime() - t0) / 1e9);
                vm.type("poweroff -f\n");
                System.out.printf("[diag] powered off: %s, reason %s%n", vm.waitForShutdown(120_000), vm.shutdownReason());
                Files.writeString(out.resolve("console.txt"), vm.consoleText());
            } else {
                Files.writeString(out.resolve("console.txt"), vm.consoleText());
            }
            sampler.interrupt();
            System.out.printf("%n[diag] prompt=%d after %.1f s; instructions %d%n", prompt, (System.nanoTime() - t0) / 1e9,
                    cpu.instructionCount());
        }
    }
}
