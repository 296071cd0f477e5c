package org.xenj.hvm.qemudm.boot;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.MigrationInfo;
import org.xenj.hypervisor.api.SaveInfo;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * bench/migrate.sh's two xenj processes (issue 15 §5): live migration of the Debian 686 guest
 * (256 MiB) between two JVMs on this host over the authenticated channel (loopback, or veth
 * addresses between two network namespaces: {@code xenj.migbench.bind}, {@code xenj.migbench.peer}).
 * Process {@code a} boots the guest; then six legs a → b → a … (see {@link #legs}):
 * three idle, three while the guest runs a dirtying loop (busybox {@code dd} of 8 MiB into a
 * tmpfs, without end); then a times snapshot create / revert / clone and save / restore of it
 * (still dirtying).
 * With {@code xenj.migbench.tap} each process's virtual switch joins that TAP (the script puts both
 * into one Linux bridge in its namespace), the guest gets an RTL8139 (8139too) at
 * {@code xenj.migbench.guestIp}, and each leg's source pings it from the namespace ({@link GuestPing}):
 * the guest-side downtime beside the host-side one.
 * Args: role, guest dir, own port, peer port, timeout seconds; the secret is {@code XENJ_MIGRATE_SECRET}.
 * Result lines start with {@code RESULT} (the script makes the table of them); a failed check
 * prints {@code FAILED …} and exits 1.
 */
public final class MigrateBenchMain {

    static final String PROMPT = "~ # ";
    static final String NAME = "mig";
    /** The bench guest's RTL8139: an address under Xen's OUI. */
    static final String MAC = "00:16:3e:6d:69:67";
    static final String BIND = System.getProperty("xenj.migbench.bind", "127.0.0.1");
    static final String PEER = System.getProperty("xenj.migbench.peer", "127.0.0.1");
    static final GuestPing PING = GuestPing.fromProperties();
    /** This process's switch: the destination watches the arrived NIC's port on it. */
    static SwitchService vswitchHere;
    static final String DIRTY = "mkdir -p /t && mount -t tmpfs -o size=64m tmpfs /t && "
            + "(i=0; while :; do dd if=/dev/zero of=/t/f bs=1M count=8 2>/dev/null; i=$((i+1)); echo $i >/t/n; done) &\n";

    private MigrateBenchMain() {
    }

    public static void main(String[] args) throws Exception {
        String role = args[0];
        Path guest = Path.of(args[1]);
        int ownPort = Integer.parseInt(args[2]);
        int peerPort = Integer.parseInt(args[3]);
        long timeoutMs = Long.parseLong(args[4]) * 1000;
        String secret = System.getenv("XENJ_MIGRATE_SECRET");
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        BlockImagesService blocks = new BlockImagesService();
        SwitchService vswitch = new SwitchService();
        vswitchHere = vswitch;
        String tap = System.getProperty("xenj.migbench.tap", "");
        if (!tap.isBlank()) {
            // the script moves the TAP into its namespace's Linux bridge once it appears
            System.out.println("# " + role + ": bridge xenbr0: " + vswitch.bridge("xenbr0").attachTap(tap));
        }
        plugins.addDeviceModel(new QemuDeviceModel(vswitch, blocks));
        // a: the guest, then its clone beside it; b: the guest only. One pCPU each: two processes on a 2-core host
        String memory = role.equals("a") ? "640M" : "320M";
        try (blocks; AutoCloseable sw = vswitch::close; HypervisorCore xen = new HypervisorCore(CoreConfig.parse(memory, 1, "32M", "credit"), plugins)) {
            boolean tls = !"false".equals(System.getProperty("xenj.migrate.tls"));
            xen.configureMigration(secret, true, BIND, ownPort, tls);
            System.out.println("# " + role + ": listening on " + BIND + ":" + ownPort + (tls ? " (TLS)" : " (no TLS)") + ", load " + loadavg());
            if (role.equals("a")) {
                runA(xen, guest, peerPort, timeoutMs);
            } else {
                runB(xen, peerPort, timeoutMs);
            }
        } catch (Failed f) {
            System.out.println("FAILED " + role + ": " + f.getMessage());
            System.out.flush();
            System.exit(1);
        }
        System.out.flush();
        System.exit(0); // non-daemon executors of a closed core must not keep the bench waiting
    }

    /**
     * Six legs, a and b taking turns: a → b, b → a, a → b idle (the first two run the code paths
     * cold in each JVM, the third warm), then b starts the dirtying loop and b → a, a → b, b → a
     * dirtying. Each arrival is checked (the shell answers; from leg 4 on the loop runs on).
     */
    private static Domain legs(HypervisorCore xen, boolean isA, Domain booted, int peerPort, long timeoutMs) throws Exception {
        long idleTarget = Long.getLong("xenj.migbench.downtime", 20), dirtyTarget = Long.getLong("xenj.migbench.downtime.dirty", 60);
        Domain d = booted;
        for (int leg = 1; leg <= 6; leg++) {
            boolean dirty = leg >= 4;
            if ((leg % 2 == 1) == isA) {
                if (leg == 4) {
                    try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(d.id()))) {
                        int from = c.text().length();
                        c.access.write(DIRTY.getBytes(StandardCharsets.US_ASCII));
                        if (c.waitFor(PROMPT, from, 120_000) < 0) {
                            // what is left of the guest: does its shell still answer, what is its state, what did the core log
                            String before = BootText.tail(c.text());
                            int at = c.text().length();
                            c.access.write("\necho diag-$((6*7))\n".getBytes(StandardCharsets.US_ASCII));
                            boolean answers = c.waitFor("diag-42", at, 60_000) >= 0;
                            throw new Failed("the dirtying loop did not start (no prompt within 120 s); the shell "
                                    + (answers ? "answers" : "does not answer") + " a second command; domain " + d.state()
                                    + "; console:\n" + before + "\n---\n" + BootText.tail(c.text().substring(at)) + "\nlog tail:\n"
                                    + String.join("\n", xen.dmesg().subList(Math.max(0, xen.dmesg().size() - 15), xen.dmesg().size())));
                        }
                    }
                }
                // the ping runs through the wait before the leg too: its gaps then are the measurement's noise
                GuestPing.Run ping = PING == null ? null : PING.start();
                if (ping != null && !ping.answered()) {
                    System.out.println("# leg " + leg + ": the guest does not answer the ping before the leg (guest-side downtime n/a)");
                }
                Thread.sleep(dirty ? Long.getLong("xenj.migbench.dirtyMillis", 5_000) : 3_000);
                long m0 = System.currentTimeMillis();
                // the "stopped" report comes after the last pages, with the time since the pause: when the guest stopped here
                java.util.concurrent.atomic.AtomicLong pausedAt = new java.util.concurrent.atomic.AtomicLong();
                MigrationInfo info;
                try {
                    info = xen.migrate(d.id(), PEER, peerPort, true, dirty ? dirtyTarget : idleTarget, 30, p -> {
                        if (p.phase().equals("stopped")) {
                            pausedAt.set(System.currentTimeMillis() - Math.round(p.expectedDowntimeMillis()));
                        }
                    });
                } catch (RuntimeException e) {
                    if (ping != null) {
                        ping.kill(); // a child process outlives the JVM: no ping left running at 1 ms
                    }
                    throw e;
                }
                long paused = pausedAt.get();
                String guestSide = "";
                if (ping != null) {
                    Thread.sleep(3_000); // replies through the destination's TAP once the Linux bridge moved the MAC
                    GuestPing.Result r = ping.stop(m0, paused, info.downtimeNanos() / 1e6);
                    guestSide = " " + r.fields();
                    String dir = System.getProperty("xenj.migbench.logdir", "");
                    if (!dir.isBlank()) {
                        Files.writeString(Path.of(dir, "ping-leg" + leg + ".log"), "# migration started at " + m0 / 1e3 + ", guest paused at "
                                + paused / 1e3 + "\n" + ping.output());
                    }
                    if (!r.why().isEmpty()) {
                        System.out.println("# leg " + leg + ": ping: " + r.why());
                    }
                    String fdb = GuestPing.fdb(MAC);
                    if (fdb != null) {
                        System.out.println("# leg " + leg + ": the Linux bridge's entry after it: " + fdb);
                    }
                }
                result((dirty ? "dirty" : "idle") + "-" + leg, info, xen, guestSide);
                d = null;
            } else {
                d = awaitRunning(xen, timeoutMs);
                long seen = System.currentTimeMillis();
                System.out.println("# leg " + leg + ": it arrived as d" + d.id() + ", seen running at " + seen / 1e3);
                if (PING != null) {
                    System.out.println("# leg " + leg + ": after it ran here, " + GuestPing.watchPort(vswitchHere.bridge("xenbr0"),
                            "vif" + d.id() + ".0-emu", seen, 3_000));
                }
                try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(d.id()))) {
                    answers(xen, c, "leg" + leg, timeoutMs);
                    if (dirty) {
                        // the dirtying loop came along and runs on here: its count goes up
                        int from = c.text().length();
                        c.access.write("a=$(cat /t/n); while [ $(cat /t/n) = $a ]; do sleep 1; done; echo loop-runs-$((6*7))\n"
                                .getBytes(StandardCharsets.US_ASCII));
                        check(c.waitFor("loop-runs-42", from, 120_000) >= 0, "the dirtying loop is not running:\n" + BootText.tail(c.text()));
                    }
                }
                xen.dmesg().stream().filter(l -> l.contains("arrived by migration")).reduce((x, y) -> y)
                        .ifPresent(l -> System.out.println("# " + l));
                xen.dmesg().stream().filter(l -> l.contains("warm")).forEach(l -> System.out.println("# " + l));
            }
        }
        return d;
    }

    private static void runA(HypervisorCore xen, Path guest, int peerPort, long timeoutMs) throws Exception {
        String cmdline = System.getProperty("xenj.boot.cmdline", "console=ttyS0 cryptomgr.notests nokaslr");
        DomainConfig.Builder b = DomainConfig.builder(NAME).type(DomainType.HVM).memoryMiB(256).kernel(guest.resolve("bzImage").toString())
                .ramdisk(guest.resolve("initramfs.cpio.gz").toString()).cmdline(cmdline).onPoweroff(ShutdownAction.DESTROY)
                .raw(Map.of("xen_platform_pci", "0"));
        if (PING != null) {
            b.vifs(java.util.List.of("model=rtl8139,mac=" + MAC + ",bridge=xenbr0"));
        }
        DomainConfig cfg = b.build();
        long t0 = System.nanoTime();
        Domain d = xen.create(cfg);
        try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(d.id()))) {
            check(c.waitFor(PROMPT, 0, timeoutMs) >= 0, "no shell prompt; console:\n" + BootText.tail(c.text()));
            System.out.printf("# a: prompt after %.1f s%n", (System.nanoTime() - t0) / 1e9);
            answers(xen, c, "boot", timeoutMs);
            if (PING != null) {
                networkUp(c, timeoutMs);
            }
        }
        Domain back = legs(xen, true, d, peerPort, timeoutMs);

        Path snaps = Files.createTempDirectory("xenj-migbench-snap");
        xen.configureSnapshots(snaps.toString());
        long s0 = System.nanoTime();
        xen.snapshotCreate(back.id(), "s1");
        long s1 = System.nanoTime();
        Thread.sleep(2_000);
        long s2 = System.nanoTime();
        xen.snapshotRevert(back.id(), "s1");
        long s3 = System.nanoTime();
        Domain clone = xen.cloneDomain(back.id(), "s1", "mig-clone");
        long s4 = System.nanoTime();
        try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(back.id()))) {
            answers(xen, c, "revert", timeoutMs);
        }
        try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(clone.id()))) {
            answers(xen, c, "clone", timeoutMs);
        }
        System.out.printf("RESULT snapshot create_ms=%.1f revert_ms=%.1f clone_ms=%.1f load=%s%n", (s1 - s0) / 1e6, (s3 - s2) / 1e6,
                (s4 - s3) / 1e6, loadavg());
        xen.destroy(clone.id());

        Path image = snaps.resolve("mig.save");
        long v0 = System.nanoTime();
        SaveInfo saved = xen.save(back.id(), image, false);
        long v1 = System.nanoTime();
        Domain restored = xen.restore(image, Map.of(), false);
        long v2 = System.nanoTime();
        try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(restored.id()))) {
            answers(xen, c, "restore", timeoutMs);
        }
        System.out.printf("RESULT save save_ms=%.1f paused_ms=%.1f bytes=%d pages=%d zero=%d restore_ms=%.1f load=%s%n", (v1 - v0) / 1e6,
                saved.pausedNanos() / 1e6, saved.bytes(), saved.pages(), saved.zeroPages(), (v2 - v1) / 1e6, loadavg());
        xen.dmesg().stream().filter(l -> l.contains("saved to") || l.contains("restored from") || l.contains("snapshot")
                || l.contains("clone")).forEach(l -> System.out.println("# a: " + l));
        xen.destroy(restored.id());
        // the snapshot image (≈ 42 MB) and the save image: leave nothing behind in the temporary directory
        try (java.util.stream.Stream<Path> all = Files.walk(snaps)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** 8139too's eth0 (the only NIC) gets the bench's address; the namespace must reach it. */
    private static void networkUp(LinuxBootTest.Console c, long timeoutMs) throws Exception {
        int from = c.text().length();
        c.access.write(("ip addr add " + PING.ip + "/24 dev eth0 && ip link set eth0 up && echo \"net-$((6*7)) $(cat /sys/class/net/eth0/address)"
                + " $(readlink /sys/class/net/eth0/device/driver)\"\n").getBytes(StandardCharsets.US_ASCII));
        int at = c.waitFor("net-42 ", from, timeoutMs);
        check(at >= 0, "the guest's eth0 did not come up:\n" + BootText.tail(c.text()));
        String line = c.text().substring(at).lines().findFirst().orElse("");
        System.out.println("# a: guest " + line.replace("net-42 ", "eth0 ") + " at " + PING.ip);
        check(line.contains(MAC), "eth0 is not the RTL8139 " + MAC + ": " + line);
        String why = PING.reachable(30);
        check(why == null, "the bench's namespace does not reach the guest at " + PING.ip + ": " + why);
        System.out.println("# a: the guest answers ping from the bench's namespace");
    }

    private static void runB(HypervisorCore xen, int peerPort, long timeoutMs) throws Exception {
        legs(xen, false, null, peerPort, timeoutMs);
    }

    /** The shell answers {@code echo <tag>-$((6*7))} with {@code <tag>-42}: the guest runs here. */
    private static void answers(HypervisorCore xen, LinuxBootTest.Console c, String tag, long timeoutMs) throws Exception {
        long t0 = System.nanoTime();
        int from = c.text().length();
        c.access.write(("echo " + tag + "-$((6*7))\n").getBytes(StandardCharsets.US_ASCII));
        if (c.waitFor(tag + "-42", from, timeoutMs) < 0) {
            // a hung guest: its vCPUs, interrupt controllers and timers, twice 2 s apart (what moves?)
            System.out.println("# the guest did not answer after '" + tag + "': debug-keys 'd' follows");
            for (int i = 0; i < 2; i++) {
                xen.debugKeys("d");
                java.util.List<String> log = xen.dmesg(); // a bounded ring: its tail holds the dump
                int at = log.size() - 1;
                while (at > 0 && !log.get(at).contains("'d' pressed")) {
                    at--;
                }
                for (String l : log.subList(Math.max(0, at), log.size())) {
                    System.out.println("# dump" + i + ": " + l);
                }
                Thread.sleep(2_000);
            }
            throw new Failed("the guest did not answer after '" + tag + "':\n" + BootText.tail(c.text()));
        }
        System.out.printf("# the guest answers (%s) in %.0f ms%n", tag, (System.nanoTime() - t0) / 1e6);
    }

    private static Domain awaitRunning(HypervisorCore xen, long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        int polls = 0;
        while (System.currentTimeMillis() < end) {
            Optional<Domain> d = xen.lookup(NAME);
            // renamed to its own name at GO, then unpaused: running, or blocked while its vCPU halts
            if (d.isPresent() && (d.get().state() == DomainState.RUNNING || d.get().state() == DomainState.BLOCKED)) {
                return d.get();
            }
            Thread.sleep(PING != null ? 2 : 20); // the guest-side figures line up with this moment
            if (++polls % (PING != null ? 5000 : 500) == 0) {
                System.out.println("# waiting for '" + NAME + "': " + xen.list().stream().map(x -> "d" + x.id() + " " + x.name() + " "
                        + x.state()).toList());
            }
        }
        throw new Failed("no domain '" + NAME + "' arrived within " + timeoutMs / 1000 + " s; domains "
                + xen.list().stream().map(x -> x.name() + " " + x.state()).toList() + "; log:\n" + String.join("\n", xen.dmesg()));
    }

    private static void result(String what, MigrationInfo info, HypervisorCore xen, String guestSide) {
        System.out.printf("RESULT migrate-%s rounds=%d pages_sent=%d last_pages=%d bytes=%d downtime_ms=%.1f total_ms=%.1f%s load=%s%n",
                what, info.rounds().size(), info.pagesSent(), info.finalPages(), info.bytes(), info.downtimeNanos() / 1e6,
                info.totalNanos() / 1e6, guestSide, loadavg());
        System.out.println("# rounds (pages sent/dirtied during, ms): " + info.rounds().stream()
                .map(r -> r.pagesSent() + "/" + r.dirtyPages() + " " + String.format("%.1f", r.nanos() / 1e6)).toList());
        xen.dmesg().stream().filter(l -> l.contains("migrated to") || l.contains("migrat") && l.contains("downtime"))
                .forEach(l -> System.out.println("# " + l));
    }

    private static String loadavg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + "/" + f[1] + "/" + f[2];
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    private static void check(boolean ok, String why) {
        if (!ok) {
            throw new Failed(why);
        }
    }

    private static final class Failed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failed(String m) {
            super(m);
        }
    }
}
