package org.xenj.hypervisor.internal.domain;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.SaveInfo;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.save.MachineImage;
import org.xenj.hypervisor.internal.save.SaveFormatException;
import org.xenj.hypervisor.internal.save.SaveHeader;
import org.xenj.hypervisor.internal.save.SaveStream;
import org.xenj.hypervisor.internal.timer.HostClock;
import org.xenj.hypervisor.internal.xenstore.XenStoreState;

/**
 * {@code xl save} and {@code xl restore} on the core: pause, take every record, write the stream
 * to a temporary file that is synced and renamed into place (a failed save leaves no file), then
 * destroy the domain or leave it paused; restore checks the whole stream before creating
 * anything, then creates the domain paused on a clock that goes on from the saved guest time,
 * loads the pages and the state, and destroys it again if any step fails.
 */
final class SaveRestore {

    /** Overrides a restore takes; the rest of the machine is the image's. */
    private static final Set<String> MACHINE_KEYS = Set.of("type", "builder", "memory", "maxmem", "vcpus", "maxvcpus");

    private final HypervisorCore core;

    SaveRestore(HypervisorCore core) {
        this.core = core;
    }

    SaveInfo save(DomainImpl d, Path file, boolean leavePaused) {
        if (d.config.type() != DomainType.HVM && d.config.type() != DomainType.PV) {
            throw new HypervisorException("domain " + d.id + " (" + d.name + ") is " + d.config.type()
                    + ": xenj saves HVM and PV domains only so far");
        }
        if (d.guest == null) {
            throw new HypervisorException("domain " + d.id + " (" + d.name + ") has not been built yet: nothing to save");
        }
        // a PVHVM guest is saved the Xen way: asked to suspend itself first (its frontends
        // disconnect their rings, its vCPU waits in SCHEDOP_shutdown), refused with the reason if it does not
        boolean pvhvm = d.guest.usesXenAbi();
        PvhvmSuspend.Timing suspended = null;
        if (pvhvm) {
            try {
                suspended = core.suspend.suspend(d, core.suspend.ackMillis, core.suspend.suspendMillis);
            } catch (HypervisorException e) {
                core.log("d" + d.id + " (" + d.name + ") save to " + file + " failed: " + e.getMessage());
                throw new HypervisorException("cannot save domain " + d.id + " (" + d.name + ") to " + file + ": " + e.getMessage(), e);
            }
        }
        if (d.config.type() == DomainType.PV) {
            // a transaction cannot be carried to the new domain: let the running guest end the ones it has open
            // (Xen's PV guests do so in their suspend handler); one opened in between fails the save below
            long until = System.nanoTime() + 5_000_000_000L;
            while (core.xen().store.inTransaction(d.id) && System.nanoTime() < until) {
                sleepMillis(2);
            }
        }
        boolean wasPaused = core.holdPaused(d);
        long t0 = System.nanoTime();
        Path tmp = null;
        SaveStream.Written w;
        long tStopped, tWritten;
        try {
            if (!core.awaitQuiescent(d)) {
                throw new HypervisorException("its vCPUs did not stop within 5 s");
            }
            tStopped = System.nanoTime();
            tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName() + ".", ".part");
            w = writeImage(core, d, tmp);
            tWritten = System.nanoTime();
            syncAndRename(tmp, file);
            tmp = null;
        } catch (IOException | RuntimeException e) {
            synchronized (core) {
                d.userPaused = wasPaused;
                core.applyActive(d);
            }
            String why = e instanceof HypervisorException || e instanceof IOException && e.getMessage() != null ? e.getMessage() : e.toString();
            core.log("d" + d.id + " (" + d.name + ") save to " + file + " failed: " + why);
            if (pvhvm) {
                core.suspend.resumeCancelled(d, "the save failed");
            }
            throw new HypervisorException("cannot save domain " + d.id + " (" + d.name + ") to " + file + ": " + why
                    + (wasPaused ? "" : "; it runs on"), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    core.log("cannot remove " + tmp + ": " + e.getMessage());
                }
            }
        }
        long paused = System.nanoTime() - t0;
        core.log(String.format("d%d (%s) saved to %s: %d bytes, %d pages + %d zero pages, %d records, paused %.1f ms"
                + " (stop %.1f, state and write %.1f, sync and rename %.1f)%s", d.id, d.name, file, w.bytes(), w.pages(), w.zeroPages(),
                w.records(), paused / 1e6, (tStopped - t0) / 1e6, (tWritten - tStopped) / 1e6, (t0 + paused - tWritten) / 1e6,
                suspended == null ? "" : String.format("; PVHVM, suspended through Xen's protocol first (%.1f ms), left suspended",
                        suspended.suspendedNanos() / 1e6)));
        if (!leavePaused) {
            core.destroy(d.id);
        }
        return new SaveInfo(file.toString(), w.bytes(), w.pages(), w.zeroPages(), paused, !leavePaused);
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted");
        }
    }

    /**
     * With the domain's vCPUs stopped: its whole state (memory, vCPUs, platform, devices, xenstore)
     * as one save stream in {@code target}, not yet synced. The guest time recorded is the one the
     * platform's relative timer records are taken at: a restore's clock starts there.
     */
    static SaveStream.Written writeImage(HypervisorCore core, DomainImpl d, Path target) throws IOException {
        Prepared p = prepareImage(core, d);
        return writeImage(p, pages(d.memory, p.leaveOut()), target);
    }

    /**
     * Everything of an image but the page contents, taken with the vCPUs stopped: the header (with
     * the page count), the configuration and the machine state; {@code leaveOut}: the guest frames
     * that are not part of it (Xen's own in a PVHVM guest's physmap).
     */
    record Prepared(SaveHeader header, DomainConfig config, MachineImage machine, java.util.BitSet leaveOut) {
    }

    /** The records of {@link #writeImage}, vCPUs stopped; the pages may be written later from a frozen source. */
    static Prepared prepareImage(HypervisorCore core, DomainImpl d) {
        // the guest time the platform's relative timer records are taken at: the restore's clock starts here
        long guestNanos = d.clock.guestNanos();
        MachineImage m = d.guest.saveMachine().withXenstore(xenstoreOf(core, d.id));
        DomainMemory mem = d.memory;
        // Xen's own frames in a PVHVM guest's physmap (shared_info, grant table, rings) stay out:
        // the new domain has its own, which the guest maps again when it resumes
        java.util.BitSet xenFrames = new java.util.BitSet();
        if (m.pvhvm() != null) {
            for (int g : m.pvhvm().xenFrameGfns()) {
                xenFrames.set(g);
            }
        }
        SaveHeader h = new SaveHeader(HypervisorCore.VERSION, core.info().hostname(), MachineMemory.PAGE_SIZE, d.config.type().name(),
                d.sched.vcpuCount(), d.config.memoryMiB(), d.name, d.uuid, System.currentTimeMillis(), guestNanos,
                d.clock.tscHz(), d.clock.wallclockAtEpochNanos(), mem.populatedFrames() - xenFrames.cardinality());
        return new Prepared(h, currentConfig(d), m, xenFrames);
    }

    /** The stream of {@code p} with the pages from {@code pages}, in {@code target}, not yet synced. */
    static SaveStream.Written writeImage(Prepared p, SaveStream.PageSource pages, Path target) throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 1 << 20)) {
            return SaveStream.write(out, p.header(), p.config(), p.machine(), pages);
        }
    }

    /** Makes a written temporary file durable and puts it in its place in one step. */
    static void syncAndRename(Path tmp, Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The domain's own xenstore subtree, paths relative to {@code /local/domain/<id>/}. */
    static Map<String, byte[]> xenstoreOf(HypervisorCore core, int domid) {
        String prefix = "/local/domain/" + domid + "/";
        Map<String, byte[]> out = new TreeMap<>();
        XenStoreState s = core.xen().store.saveState();
        for (XenStoreState.Node n : s.nodes()) {
            if (n.path().startsWith(prefix) && n.path().length() > prefix.length()) {
                out.put(n.path().substring(prefix.length()), n.value() == null ? new byte[0] : n.value());
            }
        }
        return out;
    }

    static SaveStream.PageSource pages(DomainMemory mem) {
        return pages(mem, new java.util.BitSet());
    }

    /** The domain's frames except the guest frames in {@code leaveOut}. */
    static SaveStream.PageSource pages(DomainMemory mem, java.util.BitSet leaveOut) {
        MachineMemory machine = mem.machine();
        return new SaveStream.PageSource() {
            @Override
            public long gfnLimit() {
                return mem.gfnLimit();
            }

            @Override
            public boolean read(long gfn, byte[] dst, int off) {
                int mfn = mem.mfn(gfn);
                if (mfn < 0 || !mem.holds(mfn) || leaveOut.get((int) gfn)) { // shared frames are its RAM too
                    return false;
                }
                System.arraycopy(machine.chunk(mfn), MachineMemory.offset(mfn), dst, off, MachineMemory.PAGE_SIZE);
                return true;
            }

            @Override
            public int readNonZero(long gfn, byte[] dst, int off) {
                int mfn = mem.mfn(gfn);
                if (mfn < 0 || !mem.holds(mfn) || leaveOut.get((int) gfn)) {
                    return SaveStream.ABSENT;
                }
                // a running guest (pre-copy) may write the frame between the look and the copy: its
                // dirty bit is set then, and the next round sends it again
                return copyUnlessZero(machine.chunk(mfn), MachineMemory.offset(mfn), dst, off);
            }
        };
    }

    /** {@link SaveStream.PageSource#readNonZero} of a frame at {@code chunk[at]}: looked at in place, copied only if not all zero. */
    static int copyUnlessZero(byte[] chunk, int at, byte[] dst, int off) {
        if (SaveStream.isZeroPage(chunk, at)) {
            return SaveStream.ZERO_PAGE;
        }
        System.arraycopy(chunk, at, dst, off, MachineMemory.PAGE_SIZE);
        return SaveStream.COPIED;
    }

    Domain restore(Path file, Map<String, String> overrides, boolean paused) {
        return restore(file, overrides, paused, null, null);
    }

    /**
     * As {@link #restore(Path, Map, boolean)}; a clone gives the new domain its own {@code uuid}
     * (null: the image's) and changes the adjusted configuration with {@code reshape} (null: none).
     */
    Domain restore(Path file, Map<String, String> overrides, boolean paused, java.util.UUID uuid,
            java.util.function.UnaryOperator<DomainConfig> reshape) {
        return restore(file, overrides, paused, uuid, reshape, null);
    }

    /**
     * As above; a live clone also gives the frames it shares with its original ({@code shared}, null:
     * none): they replace the new domain's own before the pages load, and the pages that agree are
     * not written (so they stay shared).
     */
    Domain restore(Path file, Map<String, String> overrides, boolean paused, java.util.UUID uuid,
            java.util.function.UnaryOperator<DomainConfig> reshape, org.xenj.hypervisor.internal.mem.SharedFrames shared) {
        long t0 = System.nanoTime();
        SaveStream.Scanned s;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            s = SaveStream.scan(in);
        } catch (NoSuchFileException e) {
            throw new HypervisorException("cannot restore: no file " + file);
        } catch (SaveFormatException e) {
            throw new HypervisorException("cannot restore " + file + ": " + e.getMessage() + "; nothing was created", e);
        } catch (IOException | RuntimeException e) {
            throw new HypervisorException("cannot restore " + file + ": " + e + "; nothing was created", e);
        }
        SaveHeader h = s.header();
        boolean pv = DomainType.PV.name().equals(h.domainType());
        if (!DomainType.HVM.name().equals(h.domainType()) && !pv) {
            throw new HypervisorException("cannot restore " + file + ": it holds a " + h.domainType()
                    + " domain; xenj restores HVM and PV domains only so far");
        }
        if (pv && (shared != null || uuid != null)) {
            throw new HypervisorException("cannot clone " + file + ": a PV guest keeps its machine frames, so it has one copy only");
        }
        DomainConfig config = adjust(s.config(), overrides == null ? Map.of() : overrides);
        if (reshape != null) {
            config = reshape.apply(config);
        }
        long tScanned = System.nanoTime();
        HostClock clock;
        try {
            clock = new HostClock(h.tscHz(), h.guestNanos(), h.wallclockAtEpochNanos());
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("cannot restore " + file + ": the header record is damaged (" + e.getMessage() + ")");
        }
        DomainImpl d;
        long tBuilt = 0, tLoaded = 0;
        if (pv) {
            // a PV guest names machine frames: it gets back exactly the ones it had (DESIGN-save.md, "PV guests")
            try {
                core.machine().planAllocations(s.image().pv().allFrames());
            } catch (HypervisorException e) {
                throw new HypervisorException("cannot restore " + file + ": " + e.getMessage() + ", and a PV guest needs its own machine"
                        + " frames back; nothing was created", e);
            }
        }
        try {
            d = core.createDomain(config, uuid != null ? uuid : h.uuid(), true, clock, false);
        } catch (HypervisorException e) {
            if (pv) {
                core.machine().endPlan();
            }
            throw new HypervisorException("cannot restore " + file + ": " + e.getMessage() + "; nothing was created", e);
        }
        try {
            if (d.guest == null) {
                throw new HypervisorException("a plugin it needs is missing (" + Admission.missingPlugin(d.config, core.plugins()) + ")");
            }
            tBuilt = System.nanoTime();
            long loaded;
            if (shared != null) {
                d.memory.adoptShared(shared);
            }
            d.guest.prepareRestore(s.image());
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
                loaded = SaveStream.loadPages(in, sink(d.memory));
            }
            // a PVHVM image lacks Xen's frames (the new domain has its own) and has RAM again where
            // shared_info was placed (the guest places it again): only the loaded count must agree
            boolean pvhvm = s.image().pvhvm() != null;
            if (loaded != h.pages() || !pvhvm && d.memory.populatedFrames() != h.pages()) {
                throw new HypervisorException("the restored domain has " + d.memory.populatedFrames() + " frames, the image "
                        + h.pages() + " (memory layout differs)");
            }
            tLoaded = System.nanoTime();
            d.guest.restoreMachine(s.image());
            if (pv) {
                core.machine().endPlan();
            }
        } catch (IOException | SaveFormatException | RuntimeException | LinkageError e) {
            if (pv) {
                core.machine().endPlan();
            }
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            core.log("d" + d.id + " (" + d.name + ") restore from " + file + " failed: " + why + "; destroying it");
            try {
                core.destroy(d.id);
            } catch (RuntimeException ex) {
                core.log("d" + d.id + ": destroying the half-restored domain failed: " + ex.getMessage());
            }
            throw new HypervisorException("cannot restore " + file + ": " + why + "; nothing was kept", e);
        }
        long tEnd = System.nanoTime();
        core.log(String.format("d%d (%s) restored from %s: %d pages + %d zero pages, guest time %.3f s, %.1f ms (check %.1f, create %.1f,"
                + " pages %.1f, state %.1f)%s", d.id, d.name, file, s.pages(), s.zeroPages(), h.guestNanos() / 1e9, (tEnd - t0) / 1e6,
                (tScanned - t0) / 1e6, (tBuilt - tScanned) / 1e6, (tLoaded - tBuilt) / 1e6, (tEnd - tLoaded) / 1e6,
                s.image().pvhvm() == null ? "" : "; PVHVM: its suspend hypercall returns 0 in this new domain, backends created afresh"));
        if (!paused) {
            core.unpause(d.id);
        }
        // as QEMU after an incoming migration (a restore is one from a file), also when left paused:
        // the frames come from the host side, and the restored domain is where the guest lives now
        d.guest.resumedHere();
        return d;
    }

    private static final byte[] ZERO = new byte[MachineMemory.PAGE_SIZE];

    static SaveStream.PageSink sink(DomainMemory mem) {
        MachineMemory machine = mem.machine();
        return new SaveStream.PageSink() {
            @Override
            public boolean populated(long gfn) {
                int mfn = mem.mfn(gfn);
                return mfn >= 0 && mem.holds(mfn);
            }

            @Override
            public void write(long gfn, byte[] src, int off) {
                int mfn = mem.mfn(gfn);
                if (machine.owner(mfn) == MachineMemory.SHARED) {
                    // a clone's page shared with its original: written only if the image differs (a
                    // device wrote the original between the capture and the share, both in the pause)
                    if (java.util.Arrays.equals(machine.chunk(mfn), MachineMemory.offset(mfn), MachineMemory.offset(mfn)
                            + MachineMemory.PAGE_SIZE, src, off, off + MachineMemory.PAGE_SIZE)) {
                        return;
                    }
                    mfn = mem.unshare(gfn, null);
                }
                System.arraycopy(src, off, machine.chunk(mfn), MachineMemory.offset(mfn), MachineMemory.PAGE_SIZE);
                machine.wroteRam();
            }

            @Override
            public void writeZero(long gfn) {
                // looked at, not written, when zero already: a new domain's frames are, except what the
                // builder loaded (and a clone's shared frames that differ, unshared by the write)
                int mfn = mem.mfn(gfn);
                if (!SaveStream.isZeroPage(machine.chunk(mfn), MachineMemory.offset(mfn))) {
                    write(gfn, ZERO, 0);
                }
            }
        };
    }

    /**
     * The domain's configuration under the name it has now: a domain that arrived by migration was
     * created as {@code <name>--incoming} and renamed at the switch, and a stream must carry the
     * name it runs under, or its next move (or a restore of its image) lands under the stale one.
     */
    static DomainConfig currentConfig(DomainImpl d) {
        String name = d.name;
        return name.equals(d.config.name()) ? d.config : adjust(d.config, Map.of("name", name));
    }

    /** The saved configuration with the overrides a restore may make. */
    static DomainConfig adjust(DomainConfig saved, Map<String, String> overrides) {
        DomainConfig.Builder b = saved.toBuilder().startPaused(true);
        Map<String, String> raw = new HashMap<>(saved.raw());
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String k = e.getKey().trim();
            String v = unquote(e.getValue());
            if (MACHINE_KEYS.contains(k)) {
                throw new HypervisorException("cannot restore with " + k + "=" + v + ": the image fixes the machine (type "
                        + saved.type().name().toLowerCase() + ", memory " + saved.memoryMiB() + ", vcpus " + saved.vcpus() + ")");
            }
            try {
                switch (k) {
                    case "name" -> b.name(v);
                    case "pool" -> b.pool(v);
                    case "cpus" -> b.cpus(v);
                    case "cpu_weight", "weight" -> b.cpuWeight(Integer.parseInt(v));
                    case "cap" -> b.cap(Integer.parseInt(v));
                    default -> { }
                }
            } catch (NumberFormatException ex) {
                throw new HypervisorException("cannot restore with " + k + "=" + v + ": not a number");
            }
            raw.put(k, e.getValue());
        }
        try {
            return b.raw(raw).build();
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("cannot restore: " + e.getMessage());
        }
    }

    private static String unquote(String v) {
        String s = v == null ? "" : v.trim();
        return s.length() >= 2 && (s.startsWith("\"") && s.endsWith("\"") || s.startsWith("'") && s.endsWith("'"))
                ? s.substring(1, s.length() - 1) : s;
    }
}
