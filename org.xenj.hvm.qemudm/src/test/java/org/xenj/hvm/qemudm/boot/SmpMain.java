package org.xenj.hvm.qemudm.boot;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;

/**
 * Diagnostic and measurement for SMP HVM guests: boots a guest directory with {@code vcpus}
 * vCPUs (a thread each), then at the shell prints what the guest says of its CPUs (the count of
 * /proc/cpuinfo processors, the dmesg SMP lines), runs one md5sum job of {@code MiB} zeros and
 * then two at once (-Dxenj.smp.job=file: md5sum of a tmpfs file written first, no pipe), checks every sum against the host's and prints the wall-clock time of each
 * phase with the host's load average. Args: dir, vcpus, MiB per job, boot timeout seconds.
 */
public final class SmpMain {

    private SmpMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int vcpus = Integer.parseInt(args[1]);
        int mib = Integer.parseInt(args[2]);
        long timeout = Long.parseLong(args[3]) * 1000;
        DomainConfig cfg = DomainConfig.builder("smp").type(DomainType.HVM).memoryMiB(256).vcpus(vcpus)
                .kernel(dir.resolve("bzImage").toString()).ramdisk(dir.resolve("initramfs.cpio.gz").toString())
                .cmdline(System.getProperty("xenj.boot.cmdline", "console=ttyS0 cryptomgr.notests nokaslr")).raw(java.util.Map.of("xen_platform_pci", "0")).build();
        String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(new byte[mib << 20]));
        try (DirectBootRunner r = new DirectBootRunner(cfg, System.out)) {
            long t0 = System.nanoTime();
            r.start();
            Thread sampler = new Thread(() -> {
                try {
                    while (true) {
                        Thread.sleep(30_000);
                        StringBuilder b = new StringBuilder("[smp] ");
                        for (int i = 0; i < vcpus; i++) {
                            var c = r.cpuExecutor(i).cpu();
                            b.append(String.format("vCPU%d eip %08x %d insns; ", i, c.getEip(), c.instructionCount()));
                        }
                        System.out.println(b.append("load ").append(load()));
                        if (Boolean.getBoolean("xenj.smp.debug")) {
                            for (int i = 0; i < vcpus; i++) {
                                System.out.println("[smp] vCPU" + i + ": " + r.cpuExecutor(i).debugState());
                            }
                            System.out.println("[smp] " + r.platformDebugState());
                        }
                    }
                } catch (InterruptedException | java.io.IOException e) {
                    // stop sampling
                }
            });
            sampler.setDaemon(true);
            sampler.start();
            int prompt = r.waitFor("~ # ", 0, timeout);
            System.out.printf("%n[smp] vcpus=%d prompt %s after %.1f s, load %s%n", vcpus, prompt >= 0 ? "reached" : "NOT reached",
                    (System.nanoTime() - t0) / 1e9, load());
            if (prompt < 0) {
                return;
            }
            int from = r.consoleText().length();
            r.type("grep -c ^processor /proc/cpuinfo; grep -E '^(processor|model name|cpu MHz|apicid|initial apicid)' /proc/cpuinfo;"
                    + " dmesg | grep -i -E 'smp|brought|cpu[0-9]|APIC|MPTABLE|mpparse|Intel MultiProcessor|processor #'; echo INFO-$((1+1))DONE\n");
            from = r.waitFor("INFO-2DONE", from, 600_000);
            // -Dxenj.smp.job=file: md5sum of a tmpfs file written beforehand (no pipe: no cross-CPU wake-ups inside a job)
            boolean fileJob = "file".equals(System.getProperty("xenj.smp.job", "pipe"));
            if (fileJob) {
                r.type("dd if=/dev/zero of=/tmp/z bs=64k count=" + (mib * 16) + " 2>/dev/null; echo FILE-$((1+1))DONE\n");
                from = r.waitFor("FILE-2DONE", from, 600_000);
            }
            String job = fileJob ? "md5sum < /tmp/z" : "dd if=/dev/zero bs=64k count=" + (mib * 16) + " 2>/dev/null | md5sum";
            Phase phase = new Phase(r, vcpus);
            long s = System.nanoTime();
            r.type(job + "; echo SEQ-$((1+1))DONE\n");
            int seq = r.waitFor("SEQ-2DONE", from, 1_800_000);
            double seqSec = (System.nanoTime() - s) / 1e9;
            System.out.println("[smp] one job: " + phase.next());
            s = System.nanoTime();
            r.type(job + " > /tmp/a & " + job + " > /tmp/b & wait; cat /tmp/a /tmp/b; echo PAR-$((1+1))DONE\n");
            int par = r.waitFor("PAR-2DONE", seq, 1_800_000);
            double parSec = (System.nanoTime() - s) / 1e9;
            System.out.println("[smp] two jobs: " + phase.next());
            for (int i = 0; i < vcpus; i++) {
                System.out.println("[smp] vCPU" + i + " " + r.cpuExecutor(i).cpu().blockCacheStatistics());
                System.out.println("[smp] vCPU" + i + " " + r.cpuExecutor(i).cpu().jitStatistics());
            }
            String out = r.consoleText().substring(from);
            int sums = out.split(md5 + "  -", -1).length - 1;
            System.out.printf("%n[smp] vcpus=%d one job of %d MiB: %.1f s; two at once: %.1f s (%s); speed-up %.2f; md5 %s x%d"
                    + " correct; load %s%n", vcpus, mib, seqSec, parSec, par >= 0 ? "done" : "NOT done", 2 * seqSec / parSec, md5,
                    sums, load());
            r.type("poweroff -f\n");
            boolean off = r.waitForShutdown(120_000);
            System.out.printf("[smp] poweroff -f: %s (%s)%n", off ? "domain stopped" : "still running", r.shutdownReason());
        }
    }

    /** Per vCPU: its thread's CPU seconds and guest instructions since the last call (MIPS per CPU-second). */
    private static final class Phase {
        private final DirectBootRunner runner;
        private final long[] cpuNs;
        private final long[] insns;
        private final long[] compiled;
        private long compileMs;

        Phase(DirectBootRunner runner, int vcpus) {
            this.runner = runner;
            this.cpuNs = new long[vcpus];
            this.insns = new long[vcpus];
            this.compiled = new long[vcpus];
            next();
        }

        String next() {
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            StringBuilder b = new StringBuilder();
            for (java.lang.management.ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
                if (t == null || !t.getThreadName().startsWith("xenj-vcpu-smp.")) {
                    continue;
                }
                int i = Integer.parseInt(t.getThreadName().substring("xenj-vcpu-smp.".length()));
                long ns = mx.getThreadCpuTime(t.getThreadId());
                long n = runner.cpuExecutor(i).cpu().instructionCount();
                double sec = (ns - cpuNs[i]) / 1e9;
                b.append(String.format("vCPU%d %.2f cpu-s %d M insns (%.1f MIPS/cpu-s); ", i, sec, (n - insns[i]) / 1_000_000,
                        (n - insns[i]) / 1e6 / Math.max(sec, 1e-9)));
                cpuNs[i] = ns;
                insns[i] = n;
                String jit = runner.cpuExecutor(i).cpu().jitStatistics();
                java.util.regex.Matcher m = jit == null ? null : java.util.regex.Pattern.compile("compiled=(\\d+)").matcher(jit);
                if (m != null && m.find()) {
                    long c = Long.parseLong(m.group(1));
                    b.append(String.format("%d blocks translated; ", c - compiled[i]));
                    compiled[i] = c;
                }
            }
            // HotSpot's own compilers (all threads): they compete with the vCPU threads for the host's cores
            long ms = java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
            b.append(String.format("HotSpot compiling %.2f s", (ms - compileMs) / 1e3));
            compileMs = ms;
            return b.toString();
        }
    }

    private static String load() throws java.io.IOException {
        return new String(java.nio.file.Files.readAllBytes(Path.of("/proc/loadavg")), StandardCharsets.US_ASCII).trim();
    }
}
