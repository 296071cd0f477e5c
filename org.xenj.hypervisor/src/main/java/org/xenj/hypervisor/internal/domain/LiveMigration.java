package org.xenj.hypervisor.internal.domain;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.MigrationInfo;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.migrate.MigrationAuth;
import org.xenj.hypervisor.internal.migrate.MigrationChannel;
import org.xenj.hypervisor.internal.migrate.MigrationListener;
import org.xenj.hypervisor.internal.migrate.MigrationTls;
import org.xenj.hypervisor.internal.save.MachineImage;
import org.xenj.hypervisor.internal.save.MigrationStream;
import org.xenj.hypervisor.internal.save.RecordStream;
import org.xenj.hypervisor.internal.save.SaveFormatException;
import org.xenj.hypervisor.internal.save.SaveHeader;
import org.xenj.hypervisor.internal.save.SaveStream;
import org.xenj.hypervisor.internal.timer.HostClock;

/**
 * {@code xl migrate} and {@code xl migrate-receive} on the core (protocol in {@code DESIGN-save.md}).
 *
 * <p>Source: log-dirty on, every page once, then rounds of the pages dirtied during the previous
 * round until the set fits the downtime target at the rate measured so far, stops shrinking, or
 * the round limit; then pause, take the vCPU/platform state, detach the device models (their state
 * records; no more DMA; disk images closed so a destination in this JVM can open them), send the
 * last dirty pages and the state, and wait for the destination to say it holds the domain. The
 * source is renamed {@code <name>--migratedaway}, the destination told to go, and only when it
 * answers that the domain runs is the source destroyed. Any failure before GO re-attaches the
 * devices, renames back and unpauses: the domain runs on here.
 *
 * <p>Destination: the domain is created as soon as the header arrives ({@code <name>--incoming},
 * paused, device places vacant), pages go straight into its memory, the state is applied at END
 * (devices attach then), and it is renamed and unpaused on GO. Any error destroys it.
 */
final class LiveMigration {

    static final String INCOMING = "--incoming", AWAY = "--migratedaway";
    /** Minimum pages a stop-and-copy may leave: below this, another round gains nothing. */
    private static final int SMALL_SET = 64;

    private final HypervisorCore core;
    private volatile byte[] secret;
    /** The migration stream over TLS ({@code xenj.migrate.tls}). */
    private volatile boolean tls = true;
    private MigrationListener listener;
    /** Tests: runs on the destination when the domain is held paused, before the source is told. */
    volatile java.util.function.Consumer<DomainImpl> arrivedHook;
    /**
     * Test hook on the source: called with the round number after its pages are sent and before the dirty set is taken,
     * so a test can let the guest dirty a known amount instead of depending on how fast the host happens to be.
     */
    volatile java.util.function.IntConsumer roundSentHook;

    /** Device models whose first-migration paths ran already ({@link #warmUp}); by identity, forgotten with the model. */
    private final java.util.Set<Object> warmed = java.util.Collections.synchronizedSet(
            java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>()));
    /** The warm-up running now, or null. */
    private volatile Thread warming;

    LiveMigration(HypervisorCore core) {
        this.core = core;
    }

    /**
     * Runs, on a background thread, the paths of a migration's pause that a JVM runs for the first
     * time otherwise inside it: each device model's save, detach and attach from a record
     * ({@link org.xenj.hypervisor.spi.MigrationWarmUp}), and the formatting of the figures. Asked at
     * the receiver's configuration and when a migration starts or arrives (a model registered later
     * is warmed then); each model once. In {@code bench/migrate.sh} the first leg's pause was
     * 76-232 ms against 14-25 ms later, the destination's attach of qemu-dm 54-110 ms of it.
     */
    void warmUp() {
        SaveWarmUp.start(core); // a host that migrates also saves and snapshots
        java.util.List<org.xenj.hypervisor.spi.MigrationWarmUp> todo = new ArrayList<>();
        for (org.xenj.hypervisor.spi.DeviceModel m : core.plugins().deviceModels()) {
            if (m instanceof org.xenj.hypervisor.spi.MigrationWarmUp w && warmed.add(m)) {
                todo.add(w);
            }
        }
        boolean first = warmed.add(this);
        if (todo.isEmpty() && !first) {
            return;
        }
        Thread t = new Thread(() -> {
            long t0 = System.nanoTime();
            if (first) {
                // java.util.Formatter's first %.1f costs milliseconds; the stop's log lines use it
                String.format("%.1f ms (%s %d)", t0 / 1e6, "warm", todo.size()).length();
                if (tls) {
                    // the first key and certificate load Bouncy Castle and the EC classes (~0.1-0.3 s): not at the connect
                    try {
                        MigrationTls.create();
                    } catch (RuntimeException | LinkageError e) {
                        core.log("migration warm-up: no TLS key could be made (a migration will say why again): " + e);
                    }
                }
            }
            for (org.xenj.hypervisor.spi.MigrationWarmUp w : todo) {
                try {
                    w.warmUp();
                } catch (RuntimeException | LinkageError e) {
                    core.log("migration warm-up of " + w + " failed: " + e);
                }
            }
            if (!todo.isEmpty()) {
                core.log(String.format("migration paths of %d device model(s) warmed in %.1f ms", todo.size(), (System.nanoTime() - t0) / 1e6));
            }
        }, "xenj-migration-warm-up");
        t.setDaemon(true);
        warming = t;
        t.start();
    }

    /**
     * The arrived domain's restore paths once on its own power-on state, on a background thread
     * while round 1 arrives ({@link org.xenj.hypervisor.internal.exec.Guest#warmRestorePath}); the
     * restore at END waits for it (the guest's lock) and it never runs after that has begun.
     */
    private void warmRestore(DomainImpl d, java.util.function.BooleanSupplier stopped) {
        Thread t = new Thread(() -> {
            try {
                long t0 = System.nanoTime();
                MachineImage m = d.guest.warmRestorePath();
                long t1 = System.nanoTime();
                if (m != null) {
                    Runnable hook = receiveDryRunHook;
                    if (hook != null) {
                        hook.run();
                    }
                    dryRunReceive(header(d, 0), d.config, new MachineImage(m.vcpus(), m.platform(), m.pciHeaders(),
                            Map.of("dry-run", new byte[64]), m.backends(), m.evtchn(), m.gnttab(), SaveRestore.xenstoreOf(core, d.id), null),
                            stopped);
                }
                core.log(String.format("d%d: restore paths warmed in %.1f ms (the receiver's dry run %.1f)", d.id,
                        (System.nanoTime() - t0) / 1e6, (System.nanoTime() - t1) / 1e6));
            } catch (RuntimeException | LinkageError | IOException | SaveFormatException e) {
                core.log("d" + d.id + ": warming the restore paths failed (the restore at the end takes them cold): " + e);
            }
        }, "xenj-migration-warm-restore");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The classes of the source's records (vCPU, FPU, local and I/O APIC, PICs, PIT, RTC, the machine
     * image): they cannot be taken from the running domain to warm them ({@code CpuSnapshots.save}
     * writes MXCSR into the vCPU's x87 unit), so they are at least loaded, verified and initialised
     * beforehand. In {@code bench/migrate.sh} their first load was 4.3-6.0 ms of the first stop.
     */
    static final List<String> SOURCE_RECORD_CLASSES = List.of("org.xenj.hypervisor.internal.cpu.CpuSnapshots",
            "org.xenj.hypervisor.internal.cpu.CpuState", "org.xenj.hypervisor.internal.cpu.fpu.FpuState",
            "org.xenj.hypervisor.internal.save.MachineImage", "org.xenj.hypervisor.internal.platform.apic.LocalApicState",
            "org.xenj.hypervisor.internal.platform.InterruptFabric$Records", "org.xenj.hypervisor.internal.platform.pic.PicState",
            "org.xenj.hypervisor.internal.platform.pic.PicState$Chip", "org.xenj.hypervisor.internal.platform.apic.IoApicState",
            "org.xenj.hypervisor.internal.platform.PlatformState", "org.xenj.hypervisor.internal.platform.pit.PitState",
            "org.xenj.hypervisor.internal.platform.pit.PitState$Channel", "org.xenj.hypervisor.internal.platform.rtc.RtcState",
            "org.xenj.hypervisor.internal.platform.AcpiPmState");
    /** Whether this JVM's source paths were warmed ({@link #warmSource}). */
    private final java.util.concurrent.atomic.AtomicBoolean sourceWarmed = new java.util.concurrent.atomic.AtomicBoolean();
    /** The source warm-up running now, or null. */
    private volatile Thread sourceWarming;
    /** Tests: runs first in the source warm-up (a test makes it throw). */
    volatile Runnable sourceWarmHook;

    /**
     * Once per JVM, on a background thread while the first migration's round 1 runs: the stop's
     * read-only parts that the running domain allows — the xenstore walk of {@link SaveRestore#xenstoreOf}
     * (a copy of the whole store, streams and a sort; 3.6-24.7 ms the first time in a JVM, 0.1 later),
     * three times — and the record classes loaded ({@link #SOURCE_RECORD_CLASSES}). Touches nothing
     * of the guest; a failure is logged and the stop takes those paths cold.
     */
    private void warmSource(DomainImpl d) {
        if (!sourceWarmed.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            long t0 = System.nanoTime();
            try {
                Runnable hook = sourceWarmHook;
                if (hook != null) {
                    hook.run();
                }
                for (int i = 0; i < 3; i++) {
                    SaveRestore.xenstoreOf(core, d.id);
                }
                ClassLoader loader = LiveMigration.class.getClassLoader();
                for (String c : SOURCE_RECORD_CLASSES) {
                    Class.forName(c, true, loader);
                }
                dryRunStop(d.memory);
                core.log(String.format("d%d: the source's stop paths warmed in %.1f ms", d.id, (System.nanoTime() - t0) / 1e6));
            } catch (RuntimeException | LinkageError | ClassNotFoundException | IOException e) {
                core.log("d" + d.id + ": warming the source's stop paths failed (the stop takes them cold): " + e);
            }
        }, "xenj-migration-warm-source");
        t.setDaemon(true);
        sourceWarming = t;
        t.start();
    }

    /**
     * Times {@link #dryRunReceive} reads its stream: loads, links and initialises the parsers; 200 (to
     * compile them) took 194-383 ms of a core during a first round 1 at load 11 and the first STOP to
     * END stayed 13.4 ms there (quiet hosts had 0.6-1.3 ms without any dry run): what it costs the
     * stop is not the parsers' code.
     */
    static final int RECEIVE_DRY_RUNS = 20;

    /** Tests: runs before the receiver's dry run (a test makes it throw). */
    volatile Runnable receiveDryRunHook;

    /**
     * The receiver's reading of a stop on a throwaway stream, {@link #RECEIVE_DRY_RUNS} times: a stream of
     * {@code image}'s records (the arriving domain's power-on ones) after a round of three pages and a
     * STOP, as the source sends them, read by {@link MigrationStream#receive} into a target that keeps
     * nothing: a JVM's first arrival then does not load and link the state records' parsers and the
     * receive loop's branches past round 1 inside the pause. No domain,
     * page or record of the real stream is touched. Ends early once {@code stopped} (the source stopped).
     */
    static void dryRunReceive(SaveHeader h, DomainConfig config, MachineImage image, java.util.function.BooleanSupplier stopped)
            throws IOException, SaveFormatException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        MigrationStream.Out out = new MigrationStream.Out(bytes);
        SaveStream.PageSource three = new SaveStream.PageSource() {
            @Override
            public long gfnLimit() {
                return 3;
            }

            @Override
            public boolean read(long gfn, byte[] dst, int off) {
                java.util.Arrays.fill(dst, off, off + MachineMemory.PAGE_SIZE, (byte) (gfn == 2 ? 0 : gfn + 1)); // two with data, one zero
                return true;
            }
        };
        BitSet all = new BitSet();
        all.set(0, 3);
        out.header(h, config);
        out.pages(all, three);
        out.roundEnd(1, 3, 0);
        out.stop(h.guestNanos());
        out.pages(all, three);
        out.state(image);
        out.end();
        byte[] stream = bytes.toByteArray();
        MigrationStream.Target nowhere = new MigrationStream.Target() {
            @Override
            public SaveStream.PageSink begin(SaveHeader header, DomainConfig c) {
                return new SaveStream.PageSink() {
                    @Override
                    public boolean populated(long gfn) {
                        return true;
                    }

                    @Override
                    public void write(long gfn, byte[] src, int off) {
                    }
                };
            }

            @Override
            public void roundEnd(int round, long sent, long dirty, long pagesLoaded) {
            }
        };
        for (int i = 0; i < RECEIVE_DRY_RUNS && !stopped.getAsBoolean(); i++) { // never beside the real stop: it would take a core from it
            MigrationStream.receive(new RecordStream.Reader(new java.io.ByteArrayInputStream(stream)), nowhere);
        }
    }

    /** Times {@link #dryRunStop} sends its records: enough for HotSpot to compile the small-record paths. */
    static final int DRY_RUNS = 200;

    /**
     * The stop's sending path on a throwaway stream: the last pages go out of a bit set (round 1 sends
     * every frame without one, so a JVM's first stop ran that branch and the small-record writes
     * cold: 1.1-6.2 ms of "last pages" in the warmleg runs), then STOP and END, flushed. A first
     * "end" is the flush to the receiver over the real channel, which this does not reach.
     * Reads a few frames of the running guest (as round 1 does) and writes into nothing: neither
     * the guest, the real stream nor the dirty log sees it.
     */
    static void dryRunStop(DomainMemory mem) throws java.io.IOException {
        SaveStream.PageSource src = SaveRestore.pages(mem, new BitSet());
        BitSet few = new BitSet();
        few.set(0, 64);
        MigrationStream.Out dry = new MigrationStream.Out(java.io.OutputStream.nullOutputStream());
        for (int i = 0; i < DRY_RUNS; i++) {
            dry.pages(few, src);
            dry.stop(i);
            dry.endRecord();
            dry.flush();
        }
    }

    /** Lets a warm-up still running finish first (the guest still runs meanwhile), at most {@code millis}. */
    private void awaitWarmUp(long millis) {
        long end = System.nanoTime() + millis * 1_000_000;
        for (Thread t : new Thread[] {warming, sourceWarming}) {
            long left = (end - System.nanoTime()) / 1_000_000;
            if (t != null && left > 0) {
                try {
                    t.join(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Sets the shared secret and (when {@code listen}) starts the receiver; returns its port or -1. */
    synchronized int configure(String secretText, boolean listen, String bind, int port, boolean overTls) {
        stop();
        tls = overTls;
        secret = secretText == null || secretText.isBlank() ? null : secretText.trim().getBytes(StandardCharsets.UTF_8);
        if (secret != null) {
            warmUp(); // this host may send or receive a migration: its first pause should not load classes
        }
        if (!listen) {
            return -1;
        }
        if (secret == null || secret.length < 8) {
            core.log("migration receiver not started: xenj.migrate.secret must be set (8 characters or more)");
            return -1;
        }
        try {
            listener = new MigrationListener(bind == null || bind.isBlank() ? "127.0.0.1" : bind.trim(), port, secret,
                    overTls ? MigrationTls.create() : null, this::receive, core::log);
            return listener.port();
        } catch (IOException | RuntimeException e) {
            core.log("migration receiver not started on " + bind + ":" + port + ": " + e.getMessage());
            return -1;
        }
    }

    synchronized void stop() {
        if (listener != null) {
            listener.close();
            listener = null;
        }
    }

    // ------------------------------------------------------------------ source

    MigrationInfo migrate(DomainImpl d, String host, int port, boolean live, long downtimeMillis, int maxRounds,
            java.util.function.Consumer<MigrationInfo.Progress> progress) {
        if (host == null || host.isBlank() || port <= 0 || port > 65535) {
            throw new HypervisorException("migrate to where? give host[:port]");
        }
        host = host.trim();
        byte[] key = secret;
        String where = host + ":" + port;
        String who = "domain " + d.id + " (" + d.name + ")";
        if (key == null) {
            throw new HypervisorException("cannot migrate " + who + ": no xenj.migrate.secret configured");
        }
        if (d.config.type() != DomainType.HVM || d.guest == null) {
            throw new HypervisorException("cannot migrate " + who + ": xenj migrates built HVM domains only so far");
        }
        // a PVHVM guest moves the Xen way: pre-copy while it runs, then it suspends itself at the stop
        boolean pvhvm = d.guest.usesXenAbi();
        String refusal = pvhvm ? PvhvmMigration.refusal(d) : d.guest.saveRefusal();
        if (refusal != null) {
            throw new HypervisorException("cannot migrate " + who + ": " + refusal);
        }
        warmUp();
        warmSource(d);
        long t0 = System.nanoTime();
        DomainMemory mem = d.memory;
        String name = d.name;
        boolean wasPaused = d.userPaused;
        boolean paused = false, renamed = false, goSent = false;
        Map<String, byte[]> devices = null;
        PvhvmMigration pv = pvhvm ? new PvhvmMigration(core, d, p -> report(progress, p)) : null;
        List<MigrationInfo.Round> rounds = new ArrayList<>();
        try (MigrationChannel ch = MigrationChannel.connect(host, port, key, 10_000, tls ? MigrationTls.create() : null)) {
            MigrationStream.Out out = ch.out;
            // Xen's own frames in a PVHVM guest's physmap stay out of every round, as out of a save
            java.util.BitSet xenFrames = pv != null ? pv.xenFrames() : new java.util.BitSet();
            SaveStream.PageSource src = SaveRestore.pages(mem, xenFrames);
            mem.startLogDirty();
            flush(mem);
            out.header(header(d, xenFrames.cardinality()), SaveRestore.currentConfig(d));
            // round 1: everything; later rounds: what was dirtied during the previous one
            BitSet send = null;
            long prevDirty = Long.MAX_VALUE;
            double bytesPerNano = 0;
            for (int round = 1;; round++) {
                long r0 = System.nanoTime();
                long b0 = out.bytes();
                long[] sent = out.pages(send, src);
                java.util.function.IntConsumer hook = roundSentHook;
                if (hook != null) {
                    hook.accept(round);
                }
                BitSet dirty = mem.takeDirty();
                flush(mem);
                out.roundEnd(round, sent[0] + sent[1], dirty.cardinality());
                // wait until the destination has loaded the round: what the socket buffers still held
                // is then not part of a stop, and the rate below is what reaches guest memory there
                awaitAck(ch, round);
                dirty.or(mem.takeDirty()); // and what the guest dirtied meanwhile
                flush(mem);
                long nanos = System.nanoTime() - r0;
                rounds.add(new MigrationInfo.Round(sent[0] + sent[1], dirty.cardinality(), nanos));
                bytesPerNano = Math.max(bytesPerNano, (out.bytes() - b0) / (double) Math.max(nanos, 1));
                long fits = Math.max(SMALL_SET, (long) (bytesPerNano * downtimeMillis * 1e6 / MachineMemory.PAGE_SIZE));
                int n = dirty.cardinality();
                double mbps = bytesPerNano * 1e3, expect = n * (double) MachineMemory.PAGE_SIZE / Math.max(bytesPerNano, 1e-9) / 1e6;
                core.log(String.format("d%d (%s) → %s: round %d sent %d pages in %.1f ms, %d dirtied; %.1f MB/s, a stop now: %.1f ms",
                        d.id, name, where, round, sent[0] + sent[1], nanos / 1e6, n, mbps, expect));
                report(progress, new MigrationInfo.Progress("round", round, out.pagesSent(), n, mbps, expect));
                send = dirty;
                if (!live || n <= fits || round > 1 && n >= prevDirty || round >= maxRounds) {
                    break;
                }
                prevDirty = n;
            }
            // stop and copy; a PVHVM guest first suspends itself (its frontends wait, its vCPU sits in the hypercall)
            awaitWarmUp(2_000);
            long tSuspend = System.nanoTime();
            if (pv != null) {
                pv.suspend(out.pagesSent(), bytesPerNano);
            }
            synchronized (core) {
                d.userPaused = true;
                core.applyActive(d);
            }
            paused = true;
            long tPause = System.nanoTime();
            if (!core.awaitQuiescent(d)) {
                throw new HypervisorException("its vCPUs did not stop within 5 s");
            }
            long tQuiet = System.nanoTime();
            long guestNanos = d.clock.guestNanos();
            MachineImage m = d.guest.saveMachineWithoutDevices(); // their records come with the detach below
            long tState = System.nanoTime();
            if (pv != null) {
                pv.releaseBackends(m); // the destination opens the same disk images: one writer per image
            }
            devices = d.guest.detachDevicesForMigration(); // no more DMA from here; images closed
            long tDetached = System.nanoTime();
            Map<String, byte[]> xenstore = SaveRestore.xenstoreOf(core, d.id);
            long tXenstore = System.nanoTime();
            m = new MachineImage(m.vcpus(), m.platform(), m.pciHeaders(), devices, m.backends(), m.evtchn(), m.gnttab(),
                    xenstore, m.pvhvm());
            BitSet last = mem.takeDirty();
            last.or(send);
            out.stop(guestNanos);
            long[] fin = out.pages(last, src);
            long tPages = System.nanoTime();
            report(progress, new MigrationInfo.Progress("stopped", rounds.size(), out.pagesSent(), last.cardinality(),
                    bytesPerNano * 1e3, (System.nanoTime() - tPause) / 1e6));
            out.state(m);
            long tRecords = System.nanoTime();
            out.endRecord();
            long tEndRecord = System.nanoTime();
            out.flush();
            long tSent = System.nanoTime();
            MigrationStream.Status held = MigrationStream.parseStatus(ch.expect(MigrationStream.STATUS, "the destination's answer"));
            if (!held.ok()) {
                throw new IOException("the destination failed: " + held.message());
            }
            long tHeld = System.nanoTime();
            core.rename(d, name + AWAY);
            renamed = true;
            goSent = true; // from here on the destination may run it
            out.raw(MigrationStream.GO, new byte[0]);
            out.flush();
            long tGoSent = System.nanoTime();
            MigrationStream.Status running = MigrationStream.parseStatus(ch.expect(MigrationStream.STATUS, "the destination's resume"));
            if (!running.ok()) {
                throw new IOException("the destination did not resume it: " + running.message());
            }
            long tResumed = System.nanoTime();
            mem.stopLogDirty();
            long pagesSent = rounds.stream().mapToLong(MigrationInfo.Round::pagesSent).sum() + fin[0] + fin[1];
            long bytes = out.bytes();
            core.destroy(d.id);
            long total = System.nanoTime() - t0;
            // a PVHVM guest is out of service from its suspend request on (it freezes its tasks then)
            long down = tResumed - (pv != null ? tSuspend : tPause);
            core.log(String.format("d%d (%s) migrated to %s as d%d: %d rounds, %d pages + %d last, %d bytes, downtime %.1f ms"
                    + " (%sstop %.1f, state and last pages %.1f%s [state %.1f, devices detached %.1f, xenstore %.1f, last pages %.1f,"
                    + " records %.1f, end %.1f (record %.1f, flush %.1f)],"
                    + " destination loads %.1f, resume %.1f [rename and GO %.1f, answer %.1f]), total %.1f ms, %.1f MB/s",
                    d.id, name, where, held.domid(), rounds.size(), pagesSent - fin[0] - fin[1], fin[0] + fin[1], bytes,
                    down / 1e6, pv != null ? String.format("PVHVM suspend %.1f, ", (tPause - tSuspend) / 1e6) : "",
                    (tQuiet - tPause) / 1e6, (tSent - tQuiet) / 1e6, pv != null ? String.format(" (backends released %.1f, state and"
                            + " devices %.1f)", pv.releaseNanos() / 1e6, (tDetached - tQuiet - pv.releaseNanos()) / 1e6) : "",
                    (tState - tQuiet) / 1e6, (tDetached - tState) / 1e6, (tXenstore - tDetached) / 1e6, (tPages - tXenstore) / 1e6,
                    (tRecords - tPages) / 1e6, (tSent - tRecords) / 1e6, (tEndRecord - tRecords) / 1e6, (tSent - tEndRecord) / 1e6,
                    (tHeld - tSent) / 1e6, (tResumed - tHeld) / 1e6, (tGoSent - tHeld) / 1e6, (tResumed - tGoSent) / 1e6, total / 1e6, bytes * 1e3 / Math.max(total, 1)));
            report(progress, new MigrationInfo.Progress("done", rounds.size(), pagesSent, 0, bytesPerNano * 1e3, down / 1e6));
            return new MigrationInfo(where, held.domid(), rounds, fin[0] + fin[1], pagesSent, bytes, down, total);
        } catch (IOException | SaveFormatException | MigrationAuth.AuthException | RuntimeException e) {
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            mem.stopLogDirty();
            if (goSent) {
                // the destination may be running it: never two copies running; leave this one paused
                core.log("d" + d.id + " (" + name + ") migration to " + where + " uncertain after GO: " + why + "; left paused here");
                if (renamed) {
                    core.rename(d, name);
                }
                throw new HypervisorException("migration of " + who + " to " + where + " is uncertain (" + why
                        + "): the destination may run it; it is left paused here", e);
            }
            if (devices != null) {
                try {
                    d.guest.reattachDevices(devices);
                } catch (RuntimeException ex) {
                    core.log("d" + d.id + ": re-attaching devices after a failed migration failed: " + ex.getMessage());
                }
            }
            if (pv != null) {
                pv.reattachBackends();
            }
            if (renamed) {
                core.rename(d, name);
            }
            if (paused) {
                synchronized (core) {
                    d.userPaused = wasPaused;
                    core.applyActive(d);
                }
            }
            if (pv != null) {
                pv.cancel(why); // its suspend hypercall returns 1: it goes on here with what it had
            }
            core.log("d" + d.id + " (" + name + ") migration to " + where + " failed: " + why + "; it runs on here");
            throw new HypervisorException("cannot migrate " + who + " to " + where + ": " + why + "; it runs on here", e);
        }
    }

    /** The destination's ROUND_ACK of {@code round}; anything else (a refusal, a damaged record) fails the migration. */
    private static void awaitAck(MigrationChannel ch, int round) throws IOException, SaveFormatException {
        MigrationStream.RoundAck ack = MigrationStream.parseRoundAck(
                ch.expect(MigrationStream.ROUND_ACK, "the destination's acknowledgement of round " + round));
        if (ack.round() != round) {
            throw new SaveFormatException("the destination acknowledged round " + ack.round() + " where round " + round + " ended");
        }
    }

    private static void flush(DomainMemory mem) {
        if (!mem.machine().dirtyLog().flushWriteCaches(5_000)) {
            throw new HypervisorException("a vCPU did not drop its cached write permissions within 5 s");
        }
    }

    private SaveHeader header(DomainImpl d, int leftOut) {
        return new SaveHeader(HypervisorCore.VERSION, core.info().hostname(), MachineMemory.PAGE_SIZE, d.config.type().name(),
                d.sched.vcpuCount(), d.config.memoryMiB(), d.name, d.uuid, System.currentTimeMillis(), d.clock.guestNanos(),
                d.clock.tscHz(), d.clock.wallclockAtEpochNanos(), d.memory.populatedFrames() - leftOut);
    }

    /** Tells the caller's progress listener; its exceptions are logged, never fail the migration. */
    private void report(java.util.function.Consumer<MigrationInfo.Progress> progress, MigrationInfo.Progress p) {
        if (progress != null) {
            try {
                progress.accept(p);
            } catch (RuntimeException e) {
                core.log("migration progress listener failed: " + e);
            }
        }
    }

    // ------------------------------------------------------------------ destination

    /** One authenticated incoming connection (listener thread). */
    void receive(RecordStream.Reader in, MigrationStream.Out out, long handshakeNanos) throws IOException {
        Incoming inc = new Incoming(handshakeNanos, out);
        try {
            MachineImage image = MigrationStream.receive(in, inc);
            long tEnd = System.nanoTime();
            if (image.pvhvm() == null && inc.d.memory.populatedFrames() != inc.pages0) {
                throw new SaveFormatException("the domain here has " + inc.d.memory.populatedFrames() + " frames, the source "
                        + inc.pages0 + " (memory layout differs)");
            }
            inc.d.guest.restoreMachine(image);
            long tRestored = System.nanoTime();
            java.util.function.Consumer<DomainImpl> hook = arrivedHook;
            if (hook != null) {
                hook.accept(inc.d);
            }
            out.raw(MigrationStream.STATUS, MigrationStream.status(new MigrationStream.Status(true, inc.d.id, "held paused")));
            out.flush();
            RecordStream.Record go = in.next();
            if (go == null || go.type() != MigrationStream.GO) {
                throw new IOException("the source did not confirm with a GO (" + (go == null ? "connection closed" : "record " + go.type()) + ")");
            }
            if (go.payload().length != 0) { // every payload is consumed exactly; a GO has none
                throw new IOException("the source's GO is damaged (" + go.payload().length + " bytes where it has none)");
            }
            String name = inc.name;
            if (core.lookup(name).isPresent()) {
                name = name + "--migrated"; // the source's name is still in use here
            }
            long tGo = System.nanoTime();
            for (org.xenj.hypervisor.spi.MigrationGate gate : core.plugins().gates()) {
                try {
                    gate.admit(inc.d.id, inc.name, inc.d.config);
                } catch (RuntimeException e) {
                    throw new IOException("refused here before it ran: " + (e.getMessage() != null ? e.getMessage() : e), e);
                }
            }
            long tAdmitted = System.nanoTime();
            core.rename(inc.d, name);
            long tRenamed = System.nanoTime();
            core.unpause(inc.d.id);
            inc.resumed = true; // from here on it is the only copy running: never destroyed for a lost answer
            long tResumed = System.nanoTime();
            try {
                out.raw(MigrationStream.STATUS, MigrationStream.status(new MigrationStream.Status(true, inc.d.id, "running as " + name)));
                out.flush();
            } catch (IOException e) {
                core.log("d" + inc.d.id + " (" + name + ") runs here; the source did not get the last answer: " + e.getMessage());
            }
            // Its NICs announce it here (the source's copy is stopped for good), after the answer: the guest runs
            // already, and the announce's first run in a JVM (its classes, its timer's thread) took 9-26 ms that
            // the source counted as downtime. QEMU too announces from a timer once the guest runs.
            long tAnswered = System.nanoTime();
            inc.d.guest.resumedHere();
            long tAnnounced = System.nanoTime();
            // logged after the answer: the source counts the pause until it has it
            core.log(String.format("d%d (%s) arrived by migration: %d rounds, %d pages before the stop; STOP to END %.1f ms,"
                    + " devices and state %.1f ms [%s], waited for GO %.1f ms, GO to running %.1f ms [gates %.1f, rename %.1f, unpause %.1f],"
                    + " answer sent %.1f ms; announce after the answer %.1f ms", inc.d.id, name, inc.rounds, inc.pages,
                    (tEnd - inc.tStop) / 1e6, (tRestored - tEnd) / 1e6, inc.d.guest.restoreBreakdown(), (tGo - tRestored) / 1e6,
                    (tResumed - tGo) / 1e6, (tAdmitted - tGo) / 1e6, (tRenamed - tAdmitted) / 1e6, (tResumed - tRenamed) / 1e6,
                    (tAnswered - tResumed) / 1e6, (tAnnounced - tAnswered) / 1e6));
        } catch (IOException | SaveFormatException | RuntimeException | LinkageError e) {
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            inc.discard(why);
            try {
                out.raw(MigrationStream.STATUS, MigrationStream.status(new MigrationStream.Status(false, -1, why)));
                out.flush();
            } catch (IOException ignored) {
                // the source is gone
            }
            if (e instanceof IOException io) {
                throw io;
            }
            throw new IOException("incoming migration refused: " + why, e);
        }
    }

    /** The domain being received. */
    private final class Incoming implements MigrationStream.Target {
        private final long leadNanos;
        private final MigrationStream.Out out;
        DomainImpl d;
        String name;
        int rounds;
        long pages;
        volatile long tStop;
        long pages0;
        boolean resumed;

        Incoming(long handshakeNanos, MigrationStream.Out out) {
            this.leadNanos = handshakeNanos;
            this.out = out;
        }

        @Override
        public SaveStream.PageSink begin(SaveHeader h, DomainConfig config) throws SaveFormatException {
            if (!DomainType.HVM.name().equals(h.domainType())) {
                throw new SaveFormatException("it is a " + h.domainType() + " domain; xenj receives HVM domains only so far");
            }
            HostClock clock;
            try {
                // the header left the source a little before now: start ahead rather than let the TSC go back
                clock = new HostClock(h.tscHz(), h.guestNanos() + leadNanos, h.wallclockAtEpochNanos());
            } catch (IllegalArgumentException e) {
                throw new SaveFormatException("the header record is damaged (" + e.getMessage() + ")");
            }
            warmUp(); // while round 1 arrives: the attach from the record at END is then not this JVM's first
            name = config.name();
            DomainConfig c = SaveRestore.adjust(config, Map.of("name", name + INCOMING));
            d = core.createDomain(c, h.uuid(), true, clock, true);
            if (d.guest == null) {
                throw new HypervisorException("a plugin it needs is missing (" + Admission.missingPlugin(d.config, core.plugins()) + ")");
            }
            warmRestore(d, () -> tStop != 0);
            // a PVHVM source leaves Xen's frames out (at most 128; the PVHVM_SUSPEND record at the end says which)
            pages0 = h.pages();
            if (Math.abs(d.memory.populatedFrames() - h.pages()) > org.xenj.hypervisor.internal.save.PvhvmSuspendState.MAX_XEN_FRAMES) {
                throw new SaveFormatException("the domain here has " + d.memory.populatedFrames() + " frames, the source "
                        + h.pages() + " (memory layout differs)");
            }
            return SaveRestore.sink(d.memory);
        }

        @Override
        public void stopped(long guestNanos) {
            tStop = System.nanoTime();
        }

        @Override
        public void roundEnd(int round, long sent, long dirty, long pagesLoaded) throws IOException {
            rounds = round;
            pages += sent;
            // every page of the round is in guest memory here: the source may now decide to stop
            out.raw(MigrationStream.ROUND_ACK, MigrationStream.roundAck(new MigrationStream.RoundAck(round, pagesLoaded)));
            out.flush();
        }

        void discard(String why) {
            if (resumed) {
                core.log("d" + d.id + " (" + d.name + ") runs here after its migration; afterwards: " + why);
            } else if (d != null) {
                core.log("d" + d.id + " (" + d.name + ") incoming migration failed: " + why + "; destroying it");
                try {
                    core.destroy(d.id);
                } catch (RuntimeException ex) {
                    core.log("d" + d.id + ": destroying the half-received domain failed: " + ex.getMessage());
                }
            } else {
                core.log("incoming migration refused: " + why);
            }
        }
    }
}
