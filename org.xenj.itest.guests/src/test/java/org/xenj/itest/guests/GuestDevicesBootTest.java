package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.xenj.dom0.blkback.internal.BlkbackService;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.netback.internal.Netback;
import org.xenj.dom0.vfb.internal.VfbBackend;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * Two Debian guests (686-pae and, where given, 686) booted at once on two pCPUs, on the whole Domain 0 stack as Karaf wires
 * it (qemu-dm with the block layer and the virtual switch, blkback, netback), so that one boot of
 * each serves every device check. Real drivers no one here wrote are the oracles:
 * <ul>
 * <li><b>pv</b> ({@code xen_platform_pci=1}, PVHVM): Linux finds Xen through our ABI, unplugs the
 * emulated disks qemu-dm had opened for xvda/xvdb, and its own xen-blkfront (4-page ring, indirect
 * requests) and xen-netfront take over: a raw ext4 xvda, a qcow2 overlay xvdb, a hot-plugged xvdc
 * and vif; its IDE CD-ROM stays after the unplug, as on Xen, and ata_piix reads it;</li>
 * <li><b>pc</b> ({@code xen_platform_pci=0}, a bare PC): Debian's non-PAE 686 kernel
 * ({@code -Dxenj.pc.dir}, tests/guest-devices.sh builds it; without it the 686-pae one) finds no hypervisor; its
 * ata_piix drives qemu-dm's PIIX3 IDE (ext4 hda, blank hdb, ISO9660 CD-ROM hdc) and its 8139too and
 * ne2k-pci drive the emulated RTL8139 and NE2000 on the same bridge as pv's netfront.</li>
 * </ul>
 * The guests ping each other through every NIC, fetch a file from a network namespace over a TAP
 * (pv through netfront, pc through the RTL8139 and through the NE2000),
 * qemu-dm is handed over while both run, and after poweroff the host's e2fsck, debugfs and qemu-img
 * read what the guests wrote. Both guests' clocks are checked against the host's across all
 * of it ({@link ClockChecks}). Runs only with {@code -Dxenj.pvhvm.dir=DIR} (tests/guest-devices.sh).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GuestDevicesBootTest {

    static final String MIGRATION_SECRET = "guest-devices-migration";
    /** -Dxenj.guest.acpi=true: both guests boot with apic=1 acpi=1 (the ACPI tables, _PRT routing of their PCI devices). */
    static final boolean ACPI = Boolean.getBoolean("xenj.guest.acpi");
    static final String CMDLINE = System.getProperty("xenj.boot.cmdline", "console=ttyS0 cryptomgr.notests nokaslr");
    /**
     * Module options busybox's modprobe takes from the kernel command line: a 4-page ring (Linux's
     * default is one page) and indirect requests of up to 256 segments (default 32), so Linux's own
     * blkfront drives blkback's multi-page ring and largest indirect requests.
     */
    static final String BLKFRONT_OPTIONS = "xen_blkfront.max_ring_page_order=2 xen_blkfront.max_indirect_segments=256";
    static final String PV_MAC = "00:16:3e:00:00:01", RTL_MAC = "00:16:3e:00:00:02", NE_MAC = "00:16:3e:00:00:03";
    /** pv answers on both subnets; pc has one NIC in each, so every ping names the NIC it crosses. */
    static final String PV_IP = "10.99.0.1", PV_IP2 = "10.99.1.1", RTL_IP = "10.99.0.2", NE_IP = "10.99.1.2";

    final List<String> switchLog = new CopyOnWriteArrayList<>();
    Path tmp;
    Images img;
    BlockImagesService images;
    BlkbackService blkback;
    SwitchService sw;
    Netback netback;
    VfbBackend vfb;
    NetNamespace netns;
    Plugins plugins;
    QemuDeviceModel qemuDm;
    HypervisorCore xen;
    /** The second xenj pv is live-migrated to (step 15), with its own blkback and netback. */
    HypervisorCore xen2;
    BlkbackService blkback2;
    Netback netback2;
    /** A file on pv's xvda (ext4 mounted on /mnt/a) and its md5, left by step 12 for step 15 (null: step 15 writes one). */
    volatile String pvXvdaFile;
    volatile String pvXvdaMd5;
    /** Where pv runs: xen, and xen2 after step 15. */
    org.xenj.hypervisor.api.Hypervisor pvHost;
    Domain pvDom;
    Domain pcDom;
    GuestShell pv;
    GuestShell pc;
    /** The loopback migration receiver's port (step 13 migrates pc to localhost). */
    int migrationPort;
    long t0;
    /** md5s the guests printed of what they wrote, checked on the host after poweroff. */
    volatile String pvBigMd5;
    volatile String pcRandMd5;
    /** What pc's sr0 holds (hello.txt's text, payload.bin's md5): the first ISO until xen:cd-insert changes it. */
    volatile String pcCdHello = "hello from the host's ISO";
    volatile String pcCdMd5;
    volatile String pcCdMd5Pending;
    /** The guests' clocks read right after the prompts, compared with a second reading before poweroff. */
    volatile ClockChecks.Sample pvClockStart;
    volatile ClockChecks.Sample pcClockStart;
    /** pc's interface names for the RTL8139 and the NE2000. */
    volatile String pcRtl;
    /** pc's hda overlay after step 16's snapshot and revert (null: the step did not run). */
    volatile Path pcOverlay;
    volatile String pcNe;

    /** The images both guests get, made by the host's own tools. */
    record Images(Path a, Path base, String baseSha, Path b, Path c, Path hda, Path hdb, Path cd, String cdPayloadMd5) {
    }

    @BeforeAll
    void bootBothGuests() throws Exception {
        String dir = System.getProperty("xenj.pvhvm.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.pvhvm.dir to run the guest device boot test");
        for (String tool : List.of("mkfs.ext4", "e2fsck", "debugfs", "qemu-img")) {
            assumeTrue(HostTools.which(tool) != null, tool + " is not installed (./xenj test installs it)");
        }
        String isoTool = HostTools.which("genisoimage") != null ? "genisoimage" : HostTools.which("xorriso") != null ? "xorriso" : null;
        assumeTrue(isoTool != null, "neither genisoimage nor xorriso is installed");
        Path guest = Path.of(dir);
        assertTrue(Files.isRegularFile(guest.resolve("bzImage")), "no bzImage in " + guest);
        String pcDir = System.getProperty("xenj.pc.dir", "");
        Path pcGuest = pcDir.isBlank() ? guest : Path.of(pcDir);
        assertTrue(Files.isRegularFile(pcGuest.resolve("bzImage")), "no bzImage in " + pcGuest);
        System.out.println("[guest-devices] pv boots " + guest + ", pc boots " + pcGuest);
        long timeoutMs = Long.getLong("xenj.boot.timeout", 1500) * 1000;
        tmp = Files.createTempDirectory("xenj-guests-");
        img = makeImages(isoTool);
        pcCdMd5 = img.cdPayloadMd5();

        images = new BlockImagesService();
        blkback = new BlkbackService(images);
        sw = new SwitchService(System::nanoTime, m -> {
            switchLog.add(m);
            System.out.println("[guest-devices] switch: " + m);
        }, 300_000);
        netback = new Netback(sw);
        netns = NetNamespace.open(sw.bridge("xenbr0"), 16);
        plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        qemuDm = new QemuDeviceModel(sw, images); // as in Karaf: qemu-dm has the block layer and the switch
        plugins.addDeviceModel(qemuDm);
        plugins.addDiskBranching(new org.xenj.hvm.qemudm.internal.QemuDiskBranching(images)); // as DS registers it in Karaf
        plugins.addBackend(blkback, BlkbackService.KIND);
        plugins.addBackend(netback, Netback.KIND);
        vfb = new VfbBackend(); // pv's xen-fbfront and xen-kbdfront (vfb = [ 'vnc=1' ])
        plugins.addBackend(vfb, VfbBackend.KIND);
        // room for a second pc (200 MiB) while it migrates to localhost
        xen = new HypervisorCore(CoreConfig.parse("680M", 2, "32M", "credit"), plugins);
        migrationPort = xen.configureMigration(MIGRATION_SECRET, true, "127.0.0.1", 0);
        xen.configureSnapshots(tmp.resolve("snapshots").toString());
        pvHost = xen;
        blkback.setBackendHotplug(xen.backends()); // as DS wires them in Karaf
        netback.setBackendHotplug(xen.backends());
        t0 = System.nanoTime();
        pvDom = xen.create(config("pv", "1", CMDLINE + " " + BLKFRONT_OPTIONS,
                List.of("format=raw, vdev=xvda, access=rw, target=" + img.a(), "format=qcow2, vdev=xvdb, access=rw, target=" + img.b(),
                        "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=" + img.cd()),
                List.of("mac=" + PV_MAC + ",bridge=xenbr0"), guest));
        pcDom = xen.create(config("pc", "0", CMDLINE,
                List.of("format=raw, vdev=hda, access=rw, target=" + img.hda(), "format=raw, vdev=hdb, access=rw, target=" + img.hdb(),
                        "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=" + img.cd()),
                List.of("model=rtl8139,mac=" + RTL_MAC + ",bridge=xenbr0", "model=ne2k_pci,mac=" + NE_MAC + ",bridge=xenbr0"), pcGuest));
        pv = new GuestShell("pv", xen.console(pvDom.id()));
        pc = new GuestShell("pc", xen.console(pcDom.id()));
        both(() -> waitForPrompt(pv, timeoutMs), () -> waitForPrompt(pc, timeoutMs)); // each guest's own boot time
        // the clock drift is measured across every step (see ClockChecks); a failed sample only fails that step
        both(() -> pvClockStart = clockSample(pv), () -> pcClockStart = clockSample(pc));
    }

    private Object waitForPrompt(GuestShell g, long timeoutMs) throws InterruptedException {
        int prompt = g.waitFor(GuestShell.PROMPT, 0, timeoutMs);
        if (prompt < 0) { // a hung boot explains itself: vCPU, PIC, PIT, host timer and LAPIC state, twice 2 s apart
            xen.debugKeys("d");
            Thread.sleep(2000);
            xen.debugKeys("d");
        }
        assertTrue(prompt >= 0, g.name() + ": no shell prompt; console:\n" + g.tail() + "\nhost log (debug-keys d at the end):\n" + hostLog());
        System.out.printf("[guest-devices] %s: prompt after %.1f s%n", g.name(), secs());
        return null;
    }

    private static ClockChecks.Sample clockSample(GuestShell g) throws InterruptedException {
        try {
            return ClockChecks.sample(g);
        } catch (AssertionError e) {
            System.out.println("[guest-devices] " + g.name() + ": first clock sample failed: " + e.getMessage());
            return null;
        }
    }

    private DomainConfig config(String name, String platformPci, String cmdline, List<String> disks, List<String> vifs, Path guest) {
        // the bare PC has a screen: the stdvga with a VNC console (VgaConsoleChecks)
        // the PVHVM guest has a PV framebuffer and keyboard served over VNC (PvConsole checks)
        Map<String, String> raw = new java.util.HashMap<>(name.equals("pc") ? Map.of("xen_platform_pci", platformPci, "vga", "\"stdvga\"", "vnc", "1")
                : Map.of("xen_platform_pci", platformPci, "vfb", "[ 'vnc=1' ]"));
        if (ACPI) {
            raw.put("apic", "1"); // the MADT describes the local APIC: acpi=1 needs it
            raw.put("acpi", "1");
        }
        return DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(200)
                .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                .cmdline(cmdline).onPoweroff(ShutdownAction.DESTROY).disks(disks).vifs(vifs)
                .raw(raw).build();
    }

    private Images makeImages(String isoTool) throws Exception {
        Path a = HostTools.ext4(tmp.resolve("a.raw"), 64);
        Path base = HostTools.ext4(tmp.resolve("base.raw"), 64);
        Path b = tmp.resolve("b.qcow2");
        HostTools.run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "raw", b.toString());
        Path c = HostTools.ext4(tmp.resolve("c.raw"), 16);
        Path hda = HostTools.ext4(tmp.resolve("hda.img"), 64);
        Path hdb = HostTools.sparse(tmp.resolve("hdb.img"), 72);
        Path isoDir = Files.createDirectories(tmp.resolve("iso"));
        byte[] payload = new byte[3 << 20];
        new Random(42).nextBytes(payload);
        Files.write(isoDir.resolve("payload.bin"), payload);
        Files.writeString(isoDir.resolve("hello.txt"), "hello from the host's ISO\n");
        Path cd = tmp.resolve("cd.iso");
        if (isoTool.equals("genisoimage")) {
            HostTools.run("genisoimage", "-quiet", "-r", "-J", "-V", "XENJCD", "-o", cd.toString(), isoDir.toString());
        } else {
            HostTools.run("xorriso", "-as", "mkisofs", "-quiet", "-r", "-J", "-V", "XENJCD", "-o", cd.toString(), isoDir.toString());
        }
        return new Images(a, base, HostTools.sha256(base), b, c, hda, hdb, cd, HostTools.md5(payload));
    }

    double secs() {
        return (System.nanoTime() - t0) / 1e9;
    }

    String hostLog() {
        return xen == null ? "" : String.join("\n", xen.dmesg());
    }

    /** pc's NICs (registers, lines), its dmesg's NIC lines and the controllers (debug-keys d): for a failed ping. */
    String nicReport() {
        StringBuilder b = new StringBuilder("pc's NICs in qemu-dm:\n").append(qemuDm.nicState(pcDom.id()));
        try {
            b.append("pc's dmesg:\n").append(pc.run("dmesg | grep -iE 'eth|8139|ne2k|irq' | tail -n 20; grep -E ' 10:' /proc/interrupts", 60));
        } catch (Exception | AssertionError e) {
            b.append("(pc's dmesg not read: ").append(e.getMessage()).append(")\n");
        }
        xen.debugKeys("d");
        java.util.List<String> log = xen.dmesg();
        b.append("host log, last lines (debug-keys d):\n").append(String.join("\n", log.subList(Math.max(0, log.size() - 40), log.size())));
        return b.toString();
    }

    /** Runs two guests' checks at once (each guest has its own pCPU); the first failure is rethrown. */
    static void both(Callable<?> a, Callable<?> b) throws Exception {
        CompletableFuture<?> fb = CompletableFuture.supplyAsync(() -> {
            try {
                return b.call();
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        Throwable first = null;
        try {
            a.call();
        } catch (Exception | AssertionError e) {
            first = e;
        }
        try {
            fb.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException ce && ce.getCause() != null ? ce.getCause() : e.getCause();
            if (first == null) {
                first = cause;
            } else {
                first.addSuppressed(cause);
            }
        }
        if (first instanceof Exception e) {
            throw e;
        }
        if (first instanceof Error e) {
            throw e;
        }
    }

    // ------------------------------------------------------------------ the checks, in order

    @Test
    @Order(0)
    void bothGuestsTakeTheTscAtItsToldFrequencyAndKeepTimeFromIt() throws Exception {
        both(() -> ClockChecks.calibratedTsc(pv, List.of("tsc", "xen")), () -> ClockChecks.calibratedTsc(pc, List.of("tsc")));
    }

    @Test
    @Order(1)
    void thePvhvmGuestFindsXenAndTheBarePcDoesNot() throws Exception {
        both(() -> new PvhvmChecks(this).xenAbi(), () -> new BarePcChecks(this).noHypervisor());
    }

    @Test
    @Order(1)
    void theBarePcsConsoleIsOnItsStdvgaAndVnc() throws Exception {
        new VgaConsoleChecks(pc, qemuDm, pcDom.id(), tmp).consoleOverVnc();
    }

    @Test
    @Order(1)
    void keysTypedOverVncReachTheBarePcsShell() throws Exception {
        new VgaConsoleChecks(pc, qemuDm, pcDom.id(), tmp).keysOverVnc();
    }

    @Test
    @Order(1)
    void thePvhvmGuestsXenFbfrontConsoleIsOnVnc() throws Exception {
        pvConsole().consoleOverVnc();
    }

    @Test
    @Order(1)
    void keysTypedOverVncReachThePvhvmGuestsShellThroughXenKbdfront() throws Exception {
        pvConsole().keysOverVnc();
    }

    private VgaConsoleChecks pvConsole() {
        return new VgaConsoleChecks(pv, () -> vfb.display(pvDom.id()), pvDom.id(), tmp, "xen", List.of("Xen Virtual Keyboard"),
                "xen.fbfront\\|xenfb\\|xen.kbdfront\\|xenkbd\\|Xen Virtual\\|frame buffer\\|fb0");
    }

    @Test
    @Order(2)
    void blkfrontAndAtaPiixWriteFileSystemsAndReadTheCdrom() throws Exception {
        both(() -> new PvhvmChecks(this).blkfrontDisks(), () -> new BarePcChecks(this).ideDisksAndCdrom());
    }

    @Test
    @Order(3)
    void aHotPluggedDiskAppearsIsWrittenAndGoes() throws Exception {
        new PvhvmChecks(this).blockHotPlug();
    }

    @Test
    @Order(4)
    void netfront8139tooAndNe2kPciBindTheirNics() throws Exception {
        both(() -> new PvhvmChecks(this).netfrontUp(), () -> new BarePcChecks(this).emulatedNicsUp());
    }

    @Test
    @Order(5)
    void theGuestsPingEachOtherThroughEveryNic() throws Exception {
        both(() -> {
            Net.ping(pv, RTL_IP, 10, 0);
            return Net.ping(pv, NE_IP, 10, 0);
        }, () -> {
            Net.ping(pc, PV_IP, 10, 0);
            return Net.ping(pc, PV_IP2, 10, 0);
        });
        new BarePcChecks(this).eachNicCarriedItsPings(10);
        new BarePcChecks(this).broadcastsReachBothNicsAtOnce(sw.bridge("xenbr0"), PV_IP, PV_IP2, 2000);
        for (Port p : sw.bridge("xenbr0").ports()) {
            System.out.println("[guest-devices] port " + p.name() + " " + p.counters());
        }
    }

    @Test
    @Order(6)
    void bothGuestsFetchAFileFromTheNamespaceAndItFetchesOneBack() throws Exception {
        if (netns.unavailable != null) {
            System.out.println("[guest-devices] wget skipped: " + netns.unavailable);
        }
        assumeTrue(netns.unavailable == null, netns.unavailable);
        both(() -> Net.wgetThroughNetfrontAndBack(this), () -> {
            Net.wget(pc, netns, NetNamespace.ADDRESS, "rtl8139"); // 10.99.0.0/24 is the RTL8139's subnet
            return Net.wget(pc, netns, NetNamespace.ADDRESS2, "ne2k_pci"); // 10.99.1.0/24 the NE2000's
        });
    }

    @Test
    @Order(7)
    void aHotPluggedVifAppearsAndGoes() throws Exception {
        new PvhvmChecks(this).vifHotPlug();
    }

    @Test
    @Order(8)
    void pcsCdromIsEjectedAndAnotherIsoInsertedLikeXlCdEjectAndCdInsert() throws Exception {
        new CdMediumChecks(this).ejectThenInsert();
    }

    @Test
    @Order(9)
    void qemuDmIsHandedOverWhileBothRunAndEveryDeviceGoesOn() throws Exception {
        long before = xen.dmesg().stream().filter(l -> l.contains("device model qemu-dm handed over")).count();
        plugins.removeDeviceModel(qemuDm);
        qemuDm = new QemuDeviceModel(sw, images);
        plugins.addDeviceModel(qemuDm);
        long end = System.currentTimeMillis() + 60_000;
        while (xen.dmesg().stream().filter(l -> l.contains("device model qemu-dm handed over")).count() < before + 2
                && System.currentTimeMillis() < end) {
            Thread.sleep(50);
        }
        xen.dmesg().stream().filter(l -> l.contains("handed over") || l.contains("going away"))
                .forEach(l -> System.out.println("[guest-devices] " + l.trim()));
        assertEquals(before + 2, xen.dmesg().stream().filter(l -> l.contains("device model qemu-dm handed over")).count(),
                "both domains' qemu-dm handed over:\n" + hostLog());
        both(() -> {
            Net.ping(pv, RTL_IP, 5, 1400);
            return BarePcChecks.cdrom(this, pv, "pv, after the hand-over");
        }, () -> {
            Net.ping(pc, PV_IP, 5, 1400);
            Net.ping(pc, PV_IP2, 5, 1400);
            return new CdMediumChecks(this).mediumSurvivesHandOver(); // the disc xen:cd-insert put in, if it ran
        });
    }

    @Test
    @Order(10)
    void blkbackAndNetbackAreReplacedUnderThePvGuestsIoAndPingsWithoutItNoticing() throws Exception {
        new BackendHandOverChecks(this).replaceBlkbackAndNetbackUnderLoad();
    }

    @Test
    @Order(11)
    void bothGuestClocksKeptHostTimeWithinOnePercentAcrossTheChecks() throws Exception {
        long wait = ClockChecks.MIN_SPAN_NANOS - (System.nanoTime() - Math.min(pvClockStart == null ? Long.MAX_VALUE : pvClockStart.hostNanos(),
                pcClockStart == null ? Long.MAX_VALUE : pcClockStart.hostNanos()));
        if (wait > 0 && wait < ClockChecks.MIN_SPAN_NANOS) { // only when steps were skipped: they normally take minutes
            Thread.sleep(wait / 1_000_000 + 1);
        }
        both(() -> ClockChecks.keptHostTime(pvClockStart, ClockChecks.sample(pv)),
                () -> ClockChecks.keptHostTime(pcClockStart, ClockChecks.sample(pc)));
    }

    @Test
    @Order(12)
    void thePvhvmGuestIsSavedThroughXensSuspendProtocolAndRestoredItsFrontendsReconnect() throws Exception {
        new PvhvmSuspendChecks(this).pvhvmSavedAndRestoredThroughTheSuspendProtocol(RTL_IP);
    }

    @Test
    @Order(13)
    void theBarePcIsSavedMidWorkloadAndRestoredItsDisksAndNicsGoOn() throws Exception {
        new SaveRestoreChecks(this).barePcSavedMidWorkload();
    }

    /** Opt-in: {@code -Dxenj.guest.migrationStress=N} migrations in a row under traffic on both NICs (MigrationStressChecks). */
    @Test
    @Order(14)
    void theBarePcIsLiveMigratedRepeatedlyWhileBothNicsCarryPings() throws Exception {
        int times = Integer.getInteger("xenj.guest.migrationStress", 0);
        org.junit.jupiter.api.Assumptions.assumeTrue(times > 0, "opt-in: -Dxenj.guest.migrationStress=N");
        new MigrationStressChecks(this).pcMigratedRepeatedlyWithBothNicsBusy(times);
    }

    @Test
    @Order(15)
    void theBarePcIsLiveMigratedToLocalhostMidWorkloadItsDisksAndNicsGoOn() throws Exception {
        new MigrationChecks(this).barePcMigratedToLocalhostMidWorkload();
    }

    @Test
    @Order(16)
    void thePvhvmGuestIsLiveMigratedToASecondXenjItsFrontendsReconnectThere() throws Exception {
        new PvhvmMigrationChecks(this).pvhvmLiveMigratedToASecondXenj(RTL_IP);
    }

    @Test
    @Order(17)
    void theBarePcsDisksBranchAtASnapshotAndARevertDiscardsWhatCameAfter() throws Exception {
        new SnapshotChecks(this).barePcDisksBranchAndARevertDiscardsWhatCameAfter();
    }

    @Test
    @Order(18)
    void afterPoweroffTheHostToolsReadWhatTheGuestsWrote() throws Exception {
        for (GuestShell g : List.of(pv, pc)) {
            g.powerOff();
        }
        long end = System.currentTimeMillis() + 120_000;
        while ((pvHost.lookup(pvDom.id()).isPresent() || xen.lookup(pcDom.id()).isPresent()) && System.currentTimeMillis() < end) {
            Thread.sleep(50);
        }
        assertTrue(pvHost.lookup(pvDom.id()).isEmpty() && xen.lookup(pcDom.id()).isEmpty(), "poweroff -f did not end both domains");
        System.out.printf("[guest-devices] booted, checked and powered off in %.1f s%n", secs());
        new PvhvmChecks(this).blkbackServedFlushesAndIndirectRequests();
        images.close(); // every image closed before the host's tools look at them
        new PvhvmChecks(this).hostReadsBlkfrontImages();
        new BarePcChecks(this).hostReadsIdeImage(); // hda's raw image: read-only since step 16's snapshot, sda unmounted then
        new SnapshotChecks(this).hostReadsTheOverlayChain();
    }

    @AfterAll
    void tearDown() throws Exception {
        List<Exception> errors = new ArrayList<>();
        for (AutoCloseable c : new AutoCloseable[] { pv, pc, xen, xen2, images, sw == null ? null : sw::close, netback == null ? null : netback::close,
                netback2 == null ? null : netback2::close, netns }) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                errors.add(e);
            }
        }
        if (tmp != null) {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        if (!errors.isEmpty()) {
            throw errors.get(0);
        }
    }
}
