package org.xenj.hvm.qemudm.boot;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Map;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;

/**
 * The VNC console's benchmark (run by {@code bench/vnc.sh}): a real Debian guest with a stdvga
 * (kernel= boot; its initramfs loads bochs-drm, so fbcon draws tty1 at 1024x768x32) whose shell
 * makes tty1 scroll, and an RFB client ({@link RfbUpdateCounter}) asking for updates as fast as
 * the server sends them. Per workload it prints frames per second, bytes per frame and the split
 * by encoding. Workloads, each for the given seconds after a 3 s warm-up: {@code idle} (nothing
 * drawn), {@code scroll} (a shell loop echoing numbered lines to tty1) with a ZRLE client and with
 * a Raw-only client (both with CopyRect), {@code dmesg} (the kernel log printed to tty1 over and
 * over). Args: guest dir (bzImage, initramfs.cpio.gz), seconds per workload (default 30).
 */
public final class VncBenchMain {

    private static final String CMDLINE = "console=ttyS0 cryptomgr.notests nokaslr";

    private VncBenchMain() {
    }

    public static void main(String[] args) throws Exception {
        Path guest = Path.of(args[0]);
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        DomainConfig config = DomainConfig.builder("vnc-bench").type(DomainType.HVM).memoryMiB(160)
                .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                .cmdline(CMDLINE).raw(Map.of("xen_platform_pci", "0", "vga", "\"stdvga\"", "vnc", "1")).build();
        QemuDeviceModel qemuDm = new QemuDeviceModel(null, null);
        long t0 = System.nanoTime();
        try (DirectBootRunner vm = new DirectBootRunner(config, new PrintStream(PrintStream.nullOutputStream()), qemuDm)) {
            vm.start();
            int prompt = vm.waitFor(LinuxBootTest.PROMPT, vm.waitFor("Linux version", 0, 1_800_000), 1_800_000);
            if (prompt < 0) {
                throw new IllegalStateException("no shell prompt:\n" + BiosDiskBootTest.tail(vm.consoleText()));
            }
            System.out.printf("# guest at its shell after %.1f s; %s%n", (System.nanoTime() - t0) / 1e9,
                    shell(vm, "cat /proc/fb | tr '\\n' ' '; echo").strip());
            try (ScreenOracle screen = new ScreenOracle(qemuDm.display(1))) {
                int port = screen.port();
                System.out.printf("# server: 1024x768x32 fbcon on bochs-drm; the picture is refreshed every 40 ms while a client is"
                        + " connected and at once when a request comes; client: incremental requests back to back, rectangles"
                        + " skipped, not decoded; %d s per workload; lines/s: what the guest's loop wrote to tty1%n", seconds);
                measure(vm, port, "idle", null, seconds, new int[] {RfbUpdateCounter.ZRLE, RfbUpdateCounter.COPY_RECT,
                    RfbUpdateCounter.RAW});
                String scroll = "i=0; while :; do echo \"line $i: the quick brown fox jumps over the lazy dog 0123456789\";"
                        + " i=$((i+1)); [ $((i % 50)) = 0 ] && echo $i > /tmp/n; done";
                measure(vm, port, "scroll", scroll, seconds, new int[] {RfbUpdateCounter.ZRLE, RfbUpdateCounter.COPY_RECT,
                    RfbUpdateCounter.RAW});
                measure(vm, port, "scroll-raw", scroll, seconds, new int[] {RfbUpdateCounter.COPY_RECT, RfbUpdateCounter.RAW});
                measure(vm, port, "dmesg", "while :; do dmesg; done", seconds, new int[] {RfbUpdateCounter.ZRLE,
                    RfbUpdateCounter.COPY_RECT, RfbUpdateCounter.RAW});
            }
        }
        System.exit(0);
    }

    /** Runs {@code workload} on tty1 (none for null), connects a client with {@code encodings} and prints its figures. */
    private static void measure(DirectBootRunner vm, int port, String name, String workload, int seconds, int[] encodings)
            throws Exception {
        long lines0;
        if (workload != null) {
            shell(vm, "rm -f /tmp/n; ( " + workload + " ) > /dev/tty1 2>&1 & echo $! > /tmp/wl; echo started");
        }
        try (RfbUpdateCounter client = new RfbUpdateCounter(port, encodings)) {
            client.start();
            Thread.sleep(3000);
            client.reset();
            boolean counted = workload != null && workload.contains("/tmp/n");
            lines0 = counted ? lines(vm) : 0;
            long start = System.nanoTime();
            Thread.sleep(seconds * 1000L);
            double s = (System.nanoTime() - start) / 1e9;
            long updates = client.updates, bytes = client.bytes, raw = client.rawRects, copy = client.copyRects,
                    zrle = client.zrleRects, rawB = client.rawBytes, zrleB = client.zrleBytes;
            String linesPerS = counted ? String.format("%.0f", (lines(vm) - lines0) / s) : "-";
            if (client.failure() != null) {
                throw new IllegalStateException(name + ": the client failed", client.failure());
            }
            System.out.printf("vnc %-10s fps=%.1f bytes/frame=%d KB/s=%.0f rects/frame: copyrect=%.2f zrle=%.2f raw=%.2f"
                    + " bytes: zrle=%d raw=%d lines/s=%s load=%.1f%n", name, updates / s, updates == 0 ? 0 : bytes / updates,
                    bytes / s / 1024, per(copy, updates), per(zrle, updates), per(raw, updates), zrleB, rawB, linesPerS,
                    ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
        if (workload != null) {
            shell(vm, "kill $(cat /tmp/wl); sleep 1; echo stopped");
        }
    }

    private static double per(long n, long updates) {
        return updates == 0 ? 0 : (double) n / updates;
    }

    /** Lines the scroll loop has written so far (it notes every 50th), or 0. */
    private static long lines(DirectBootRunner vm) throws InterruptedException {
        String out = shell(vm, "cat /tmp/n 2>/dev/null || echo 0").strip();
        String[] words = out.split("\\s+");
        try {
            return Long.parseLong(words[words.length - 1]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static int serial;

    /** Types {@code command} on the serial shell and returns what it printed (up to an end marker). */
    static String shell(DirectBootRunner vm, String command) throws InterruptedException {
        String end = "@@end" + (++serial) + "@@";
        int at = vm.consoleText().length();
        vm.type(command + "; echo " + end.replace("@@", "@@''") + "\n");
        int i = vm.waitFor(end, at, 120_000);
        if (i < 0) {
            throw new IllegalStateException("the shell did not answer " + command + ":\n" + BiosDiskBootTest.tail(vm.consoleText()));
        }
        String text = vm.consoleText().substring(at, i);
        int nl = text.indexOf('\n');
        return nl < 0 ? "" : text.substring(nl + 1);
    }
}
