package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * The x86-TSO litmus suite (guests/litmus/litmus.c) inside a real 2-vCPU Debian guest (issue 13):
 * boots the default 686 kernel with {@code vcpus=2} ({@code -Dxenj.litmus.vcpus}; ACPI MADT, INIT/SIPI) in the domain core
 * (credit scheduler, a pCPU per host core up to the vCPUs) on the initramfs guests/litmus/build.sh made, checks that /proc/cpuinfo
 * lists that many processors, runs {@code litmus -n ITERS -i IRIW_ITERS} and checks every row it prints
 * here again, from its counts rather than from its own verdict: the forbidden outcome of MP, LB,
 * SB+mfence and IRIW never seen, every iteration accounted for by a 0/1 outcome, the locked
 * counters exact. SB's relaxed outcome is allowed and only reported. The same boot then serves
 * issue 15 §3 (see {@link #generationIdStep}): snapshot, clone and revert, and Linux's vmgenid
 * driver reseeding its RNG in the copies only.
 * Runs only when {@code -Dxenj.litmus.ramdisk=FILE} names that initramfs (tests/litmus-smp.sh);
 * {@code -Dxenj.guest.dir} the kernel's directory, {@code -Dxenj.litmus.iters} (default 10^6),
 * {@code -Dxenj.litmus.iriw.iters} (default the same), {@code -Dxenj.boot.timeout} seconds to the prompt.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LitmusSmpTest {

    static final String RAMDISK = System.getProperty("xenj.litmus.ramdisk");
    static final long ITERS = Long.getLong("xenj.litmus.iters", 1_000_000);
    static final long IRIW_ITERS = Long.getLong("xenj.litmus.iriw.iters", ITERS);
    /** 4 gives IRIW a CPU per thread (the 2-thread tests still use CPUs 0 and 1). */
    static final int VCPUS = Integer.getInteger("xenj.litmus.vcpus", 2);
    /** One outcome of a row: the registers as bits, '!' before '=' when TSO forbids it. */
    static final Pattern OUTCOME = Pattern.compile(" ([01]+)(!?)=(\\d+)");

    private String cpuinfo;
    /** The console up to the shell prompt: the kernel's boot messages (console=ttyS0). */
    private String bootLog;
    private String output;
    private final Map<String, String> rows = new LinkedHashMap<>();
    private boolean poweredOff;
    private String runSummary = "";

    @TempDir
    static Path snapshotDir;

    /** The original's dmesg lines about a VM fork before the snapshot, after the clone ran, and after its revert. */
    private String forkBefore = "", forkOriginalAfterClone = "", forkClone = "", forkReverted = "";
    private boolean cloneHasDevice, crngReady;
    private final java.util.List<String> hypervisorLog = new java.util.ArrayList<>();
    /** The live clone (copy-on-write memory): its answer, the original's look for the clone's file, frames it took, ms. */
    private String liveClone = "", liveOriginal = "";
    private long liveCloneFrames = -1, liveCloneMillis = -1;

    @BeforeAll
    void bootAndRun() throws Exception {
        assumeTrue(RAMDISK != null, "set -Dxenj.litmus.ramdisk (tests/litmus-smp.sh): a guest boot takes minutes");
        Path dir = Path.of(System.getProperty("xenj.guest.dir", "guest"));
        long bootMillis = Long.getLong("xenj.boot.timeout", 900) * 1000;
        DomainConfig cfg = DomainConfig.builder("litmus").type(DomainType.HVM).memoryMiB(256).vcpus(VCPUS)
                .kernel(dir.resolve("bzImage").toString()).ramdisk(RAMDISK).onPoweroff(ShutdownAction.DESTROY)
                .cmdline("console=ttyS0 cryptomgr.notests nokaslr").raw(Map.of("xen_platform_pci", "0", "acpi", "1")).build();
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel());
        // room for the original and its clone; a pCPU per host core (2 here), as the vCPU threads had before
        int pcpus = Math.max(1, Math.min(VCPUS, Runtime.getRuntime().availableProcessors()));
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("640M", pcpus, "32M", "credit"), plugins)) {
            xen.configureSnapshots(snapshotDir.toString());
            long t0 = System.nanoTime();
            Domain d = xen.create(cfg);
            try (LinuxBootTest.Console r = new LinuxBootTest.Console(xen.console(d.id()))) {
                assertTrue(r.waitFor(LinuxBootTest.PROMPT, 0, bootMillis) >= 0, "no shell prompt within the boot timeout");
                double bootSec = (System.nanoTime() - t0) / 1e9;
                bootLog = r.text();
                // $((1+1)) keeps the echoed command line from matching the marker
                cpuinfo = ask(r, "grep -c ^processor /proc/cpuinfo", "CPUS", 120_000);
                int from = r.text().length();
                long s = System.nanoTime();
                // the marker's "5" comes from the shell, so the echoed command line never matches it
                type(r, "litmus -n " + ITERS + " -i " + IRIW_ITERS + "; echo LITMUS-RC=$? DONE-$((2+3))\n");
                int end = r.waitFor("DONE-5", from, Long.getLong("xenj.litmus.timeout", 3600) * 1000);
                runSummary = String.format("boot to prompt %.1f s, litmus run %.1f s (host wall clock)%n", bootSec,
                        (System.nanoTime() - s) / 1e9);
                System.out.print("\n[litmus] " + runSummary);
                assertTrue(end >= 0, "litmus did not finish");
                output = r.text().substring(from, end);
                for (String line : output.split("\r?\n")) {
                    if (line.startsWith("TEST ")) {
                        rows.put(line.split(" ")[1], line);
                    }
                }
                generationIdStep(xen, d, r);
                type(r, "poweroff -f\n");
                poweredOff = waitGone(xen, d.id(), 120_000);
            } finally {
                hypervisorLog.addAll(xen.dmesg());
                hypervisorLog.stream().filter(l -> l.contains("snapshot 'vmgenid'") || l.contains("cloned from") || l.contains("generation ID"))
                        .forEach(l -> System.out.println("[litmus] " + l));
            }
        }
    }

    /**
     * Issue 15 §3 in the same boot: the VM Generation ID. Linux's crng must be initialised first
     * ({@code add_vmfork_randomness} reseeds, and says so, only then): reading /dev/random waits
     * for it. The original's dmesg has no "virtual machine fork" line; a snapshot, a clone of it
     * (new ID + GPE notification before it runs) whose dmesg has the line while the original's
     * still has not; then a revert of the original to the same snapshot, after which it has it too.
     */
    private void generationIdStep(HypervisorCore xen, Domain d, LinuxBootTest.Console r) throws Exception {
        String crng = ask(r, "head -c 16 /dev/random >/dev/null; dmesg | grep -c 'crng init done'", "CRNG", 300_000);
        crngReady = crng.lines().anyMatch(l -> l.trim().equals("1"));
        forkBefore = ask(r, FORK_QUERY, "FORK", 60_000);
        xen.snapshotCreate(d.id(), "vmgenid");
        Domain c = xen.cloneDomain(d.id(), "vmgenid", "litmus-clone");
        cloneHasDevice = c.hasGenerationId();
        try (LinuxBootTest.Console cc = new LinuxBootTest.Console(xen.console(c.id()))) {
            // the clone runs on from the snapshot's instant: its shell waits at the prompt, its kernel handles the SCI
            forkClone = ask(cc, FORK_QUERY, "FORK", 120_000);
            forkOriginalAfterClone = ask(r, FORK_QUERY, "FORK", 60_000);
            type(cc, "poweroff -f\n");
            waitGone(xen, c.id(), 120_000);
        }
        // waitGone is satisfied by SHUTDOWN, before on_poweroff=destroy has freed the clone's RAM: the live clone's
        // count of frames taken must not see those 65,536 frames come back meanwhile (CI saw "took -65467 frames")
        long end = System.currentTimeMillis() + 60_000;
        while (xen.lookup(c.id()).isPresent() && System.currentTimeMillis() < end) {
            Thread.sleep(50);
        }
        assertTrue(xen.lookup(c.id()).isEmpty(), "the powered-off clone was not destroyed within 60 s");
        liveCloneStep(xen, d, r);
        xen.snapshotRevert(d.id(), "vmgenid");
        int from = r.text().length();
        forkReverted = ask(r, FORK_QUERY, "FORK", 120_000);
        System.out.println("[litmus] vmgenid: crng ready " + crngReady + "; original before: " + forkBefore.strip() + "; clone: "
                + forkClone.strip() + "; original after the clone: " + forkOriginalAfterClone.strip() + "; original after revert: "
                + forkReverted.strip() + " (console from " + from + ")");
    }

    /**
     * A clone of the state now, whose memory is shared copy-on-write with the running original (2
     * vCPUs, interrupts, the serial console's DMA-less writes): it writes 4 MiB into its tmpfs (guest
     * RAM) and checksums them; the original must not see the file. How many frames the clone took
     * from the pool right after it was made, and its latency, are printed.
     */
    private void liveCloneStep(HypervisorCore xen, Domain d, LinuxBootTest.Console r) throws Exception {
        int free0 = xen.machineMemory().freeFrames();
        long t0 = System.nanoTime();
        Domain lc = xen.cloneDomain(d.id(), null, "litmus-live");
        liveCloneMillis = (System.nanoTime() - t0) / 1_000_000;
        liveCloneFrames = free0 - xen.machineMemory().freeFrames();
        try (LinuxBootTest.Console lcc = new LinuxBootTest.Console(xen.console(lc.id()))) {
            liveClone = ask(lcc, "dd if=/dev/zero of=/tmp/cow bs=64k count=64 2>/dev/null; md5sum /tmp/cow | cut -c1-8", "LIVE", 120_000);
            liveOriginal = ask(r, "ls /tmp/cow 2>&1 | grep -c 'No such'", "ORIG", 60_000);
            type(lcc, "poweroff -f\n");
            waitGone(xen, lc.id(), 120_000);
        }
        System.out.println("[litmus] live clone: " + liveCloneFrames + " frames taken at once, " + liveCloneMillis + " ms; clone: "
                + liveClone.strip() + "; original sees its file: " + liveOriginal.strip());
    }

    /** The dmesg lines of add_vmfork_randomness, and their count (busybox grep; "|| true" keeps the echo). */
    static final String FORK_QUERY = "dmesg | grep 'virtual machine fork'; dmesg | grep -c 'virtual machine fork'";

    /** Types {@code command}, waits for its end marker and returns what it printed ("$((1+1))" keeps the echoed line from matching). */
    static String ask(LinuxBootTest.Console c, String command, String tag, long millis) throws InterruptedException {
        int from = c.text().length();
        type(c, command + "; echo " + tag + "-$((1+1))DONE\n");
        int end = c.waitFor(tag + "-2DONE", from, millis);
        assertTrue(end >= 0, "no answer to '" + command + "':\n" + c.text().substring(Math.max(0, c.text().length() - 2000)));
        String out = c.text().substring(from, end);
        int nl = out.indexOf('\n');
        return nl < 0 ? out : out.substring(nl + 1); // without the echoed command line
    }

    static void type(LinuxBootTest.Console c, String text) {
        c.access.write(text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    /** Whether domain {@code id} is gone (destroyed on power-off) or shut down within the time. */
    static boolean waitGone(HypervisorCore xen, int id, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            var d = xen.lookup(id);
            if (d.isEmpty() || d.get().state() == org.xenj.hypervisor.api.DomainState.SHUTDOWN) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** The table, also into {@code -Dxenj.litmus.table=FILE} for the script to print after Maven's noise. */
    @AfterAll
    void table() throws java.io.IOException {
        rows.values().forEach(row -> System.out.println("[litmus] " + row));
        String file = System.getProperty("xenj.litmus.table");
        if (file != null) {
            java.nio.file.Files.writeString(Path.of(file), String.join("\n", rows.values()) + "\n" + runSummary);
        }
    }

    @Test
    void guestHasItsProcessors() {
        assertTrue(cpuinfo.lines().anyMatch(l -> l.trim().equals(Integer.toString(VCPUS))), "grep -c ^processor: " + cpuinfo);
        assertTrue(output.contains("litmus: cpus=" + VCPUS + " "), "litmus saw another CPU count: " + output);
    }

    /**
     * The guest booted with ACPI (acpi=1): the kernel found the tables from the RSDP, took its CPUs
     * from the MADT, registered the ACPI PM timer the FADT names as a clocksource (Linux checks
     * its rate against PIT channel 2 first, so both clocks must agree) and scanned PCI through the
     * DSDT's host bridge with its _CRS windows (with ACPI IRQ routing Linux runs no legacy PCI scan).
     */
    @Test
    void guestUsesTheAcpiTables() {
        String log = bootLog.lines().filter(l -> l.contains("ACPI") || l.contains("acpi") || l.contains("smpboot")
                || l.contains("clocksource") || l.contains("pci_bus")).collect(java.util.stream.Collectors.joining("\n"));
        System.out.println("[litmus] the guest's ACPI lines:\n" + log);
        for (String want : new String[] { "ACPI: RSDP 0x00000000000F0000", "ACPI: RSDT 0x", "ACPI: FACP 0x", "ACPI: APIC 0x",
                "ACPI: DSDT 0x", "ACPI: FACS 0x", "ACPI: PM-Timer IO Port: 0xb008", "ACPI: Using ACPI (MADT) for SMP configuration",
                "smpboot: Allowing " + VCPUS + " CPUs, 0 hotplug CPUs",
                "(supports S0 S5)", "ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])",
                "pci_bus 0000:00: root bus resource [mem 0xf0000000-0xfebfffff window]" }) {
            assertTrue(log.contains(want), "no '" + want + "' in the boot log:\n" + log);
        }
        // Linux compares the PM timer with PIT channel 2 over ~50 ms and refuses it beyond 5 %. Both
        // count guest time, but the guest sees the PIT's terminal count only when its vCPU thread runs:
        // on an overloaded host (load 15 on 2 cores) a preempted poll made it read 116 % and 170 % (the
        // poll 8 and 35 ms late); at load 10 it passed. Lateness can only raise the figure, so below
        // 95 % the timer itself is slow and that fails here; above, it is reported (AcpiPmTest checks
        // the frequency exactly on a stepped clock).
        Matcher rate = Pattern.compile("PM-Timer running at invalid rate: (\\d+)%").matcher(bootLog);
        if (rate.find()) {
            int pct = Integer.parseInt(rate.group(1));
            assertTrue(pct >= 95, "the PM timer runs slow, which no host delay explains: " + rate.group());
            System.out.println("[litmus] NOTE: the kernel refused acpi_pm at " + pct + " % of the PIT (host preemption during its 50 ms check)");
        } else {
            assertTrue(log.contains("clocksource: acpi_pm: mask: 0xffffff"), "acpi_pm not registered:\n" + log);
        }
        // going backwards or standing still would be the device's fault whatever the load
        assertTrue(!bootLog.contains("PM-Timer had inconsistent") && !bootLog.contains("PM-Timer failed consistency"), log);
    }

    /**
     * The VM Generation ID (issue 15 §3), with Linux's own vmgenid driver and random.c as the oracle:
     * no "crng reseeded due to virtual machine fork" before anything happened (so the check can
     * fail), one in the clone, none in the original while only its clone was told, one in the
     * original after its revert.
     */
    /** Issue 15 §3: a live clone shares the original's memory copy-on-write; its tmpfs writes stay its own. */
    @Test
    void aLiveCloneSharesMemoryAndKeepsItsWritesToItself() {
        assertTrue(liveClone.contains("b5cfa9d6"), "md5 of 4 MiB of zeros written in the clone's tmpfs: " + liveClone);
        assertEquals("1", lastLine(liveOriginal), "the original does not see the clone's file: " + liveOriginal);
        assertTrue(hypervisorLog.stream().anyMatch(l -> l.contains("(litmus-live) cloned from") && l.contains("shared copy-on-write")),
                String.join("\n", hypervisorLog));
        assertTrue(liveCloneFrames >= 0 && liveCloneFrames < 4096, "the clone took " + liveCloneFrames + " frames at once (not its RAM)");
    }

    @Test
    void cloneAndRevertReseedTheGuestRng() {
        assertTrue(crngReady, "the guest's crng never became ready (add_vmfork_randomness reseeds only then)");
        assertTrue(cloneHasDevice, "the clone has no generation ID device");
        assertEquals("0", lastLine(forkBefore), "a VM fork before any snapshot: " + forkBefore);
        assertTrue(forkClone.contains(FORK_LINE) && lastLine(forkClone).equals("1"), "the clone was not told it is a copy: " + forkClone);
        assertEquals("0", lastLine(forkOriginalAfterClone), "the original was told of its clone's fork: " + forkOriginalAfterClone);
        assertTrue(forkReverted.contains(FORK_LINE) && lastLine(forkReverted).equals("1"), "the reverted original was not told: "
                + forkReverted);
        assertTrue(hypervisorLog.stream().anyMatch(l -> l.contains("new VM generation ID") && l.contains("cloned from")),
                String.join("\n", hypervisorLog));
        assertTrue(hypervisorLog.stream().noneMatch(l -> l.contains(Domain.NO_GENERATION_ID_WARNING)), String.join("\n", hypervisorLog));
    }

    /** What Linux 6.1's random.c prints from add_vmfork_randomness (pr_notice with its "random: " prefix). */
    static final String FORK_LINE = "random: crng reseeded due to virtual machine fork";

    static String lastLine(String s) {
        String[] lines = s.strip().split("\r?\n");
        return lines[lines.length - 1].trim();
    }

    @Test
    void storeBufferingAnyOutcome() {
        // every outcome is allowed: what can fail is a lost iteration or a value never stored
        checkRow("SB", ITERS, null);
    }

    @Test
    void storeBufferingWithMfence() {
        checkRow("SB+mfence", ITERS, "00");
    }

    @Test
    void messagePassing() {
        checkRow("MP", ITERS, "10");
    }

    @Test
    void loadBuffering() {
        checkRow("LB", ITERS, "11");
    }

    @Test
    void independentReadsOfIndependentWrites() {
        checkRow("IRIW", IRIW_ITERS, "1010");
    }

    @Test
    void lockedIncrementsExact() {
        String row = rows.get("LOCKED");
        assertNotNull(row, "no LOCKED row in " + output);
        for (String counter : new String[] { "xadd", "cmpxchg", "xadd-split", "xchg-lock" }) {
            Matcher m = Pattern.compile(" " + counter + "=(\\d+)").matcher(row);
            assertTrue(m.find(), counter + " missing: " + row);
            assertEquals(2 * ITERS, Long.parseLong(m.group(1)), counter + " lost increments: " + row);
        }
        assertTrue(row.endsWith(" PASS"), row);
    }

    @Test
    void litmusVerdictAndPowerOff() {
        assertTrue(output.contains("litmus: 6 passed, 0 failed"), output);
        assertTrue(output.contains("LITMUS-RC=0 "), "litmus exit status: " + output);
        assertTrue(poweredOff, "poweroff -f did not end the domain");
    }

    private void checkRow(String name, long iters, String forbidden) {
        String row = rows.get(name);
        assertNotNull(row, "no " + name + " row in " + output);
        checkRow(row, name, iters, forbidden);
    }

    /**
     * Sums the row's outcomes to its iterations and finds the forbidden one (if any) at 0
     * (static: {@code LitmusRowCheckTest} shows it failing on bad rows without a guest).
     */
    static void checkRow(String row, String name, long iters, String forbidden) {
        assertTrue(row.contains(" iters=" + iters + " "), row);
        assertTrue(row.contains(" other=0 "), "register values other than 0/1: " + row);
        Matcher m = OUTCOME.matcher(row);
        long total = 0;
        boolean sawForbidden = false;
        while (m.find()) {
            long n = Long.parseLong(m.group(3));
            total += n;
            if (m.group(1).equals(forbidden)) {
                sawForbidden = true;
                assertEquals("!", m.group(2), "litmus does not mark " + forbidden + " forbidden: " + row);
                assertEquals(0, n, name + ": TSO forbids " + forbidden + ": " + row);
            }
        }
        assertEquals(iters, total, "outcomes do not add up to the iterations: " + row);
        assertTrue(forbidden == null || sawForbidden, "no " + forbidden + " outcome in " + row);
        assertTrue(row.endsWith(" PASS"), row);
    }
}
