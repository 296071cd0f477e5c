package org.xenj.hypervisor.internal.save;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.internal.cpu.CpuState;
import org.xenj.hypervisor.internal.evtchn.EventChannelsState;
import org.xenj.hypervisor.internal.gnttab.GrantTableState;
import org.xenj.hypervisor.internal.platform.PlatformState;

/**
 * Writes and reads a whole save stream (format in {@code DESIGN-save.md}). Reading is two passes
 * over the same bytes: {@link #scan} checks every record — framing, checksums, versions, order,
 * every state record parsed — keeping all but the page contents; only then does the caller create
 * anything, and {@link #loadPages} streams the pages into it (checking again: the file may have
 * changed in between). So a damaged stream is refused before any memory or domain id is taken.
 */
public final class SaveStream {

    public static final int PAGE = 4096;
    /** Pages per PAGE_BATCH record: 2 MiB of data. */
    public static final int BATCH_PAGES = 512;
    private static final byte[] ZERO = new byte[PAGE];

    private SaveStream() {
    }

    /** Where a save reads guest pages from. */
    public interface PageSource {
        /** One past the highest guest frame number that may be populated. */
        long gfnLimit();

        /** Copies frame {@code gfn} into {@code dst} at {@code off}; false if the frame is not populated. */
        boolean read(long gfn, byte[] dst, int off);

        /**
         * As {@link #read}, but a frame that is all zero is only reported, not copied: {@link #ABSENT},
         * {@link #ZERO_PAGE} or {@link #COPIED}. Most of a guest's frames are zero (55,000 of 65,536 in
         * the 256 MiB bench guest): looking at them where they are saves copying 200+ MiB per image.
         * The default copies, then looks.
         */
        default int readNonZero(long gfn, byte[] dst, int off) {
            if (!read(gfn, dst, off)) {
                return ABSENT;
            }
            return isZeroPage(dst, off) ? ZERO_PAGE : COPIED;
        }
    }

    /** {@link PageSource#readNonZero}'s answers. */
    public static final int ABSENT = -1, ZERO_PAGE = 0, COPIED = 1;

    /** Whether the page at {@code off} in {@code b} is all zero. */
    public static boolean isZeroPage(byte[] b, int off) {
        return Arrays.equals(b, off, off + PAGE, ZERO, 0, PAGE);
    }

    /** Where a restore puts guest pages. */
    public interface PageSink {
        /** Whether {@code gfn} is populated in the domain being restored. */
        boolean populated(long gfn);

        void write(long gfn, byte[] src, int off);

        /**
         * Makes frame {@code gfn} all zero (a ZERO_PAGES entry). The default writes zeros; a sink that
         * can look at the frame leaves one that is zero already alone: a new domain's frames are
         * (55,000 of a 256 MiB bench guest's 65,536 are zero pages in its image).
         */
        default void writeZero(long gfn) {
            write(gfn, ZERO, 0);
        }
    }

    /** What {@link #write} wrote. */
    public record Written(long bytes, long pages, long zeroPages, int records) {
    }

    /** Everything of a stream except page contents, checked. */
    public record Scanned(SaveHeader header, DomainConfig config, MachineImage image, long pages, long zeroPages, BitSet gfns) {
    }

    // ------------------------------------------------------------------ write

    public static Written write(OutputStream out, SaveHeader header, DomainConfig config, MachineImage image, PageSource pages)
            throws IOException {
        RecordStream.Writer w = new RecordStream.Writer(out);
        w.write(RecordType.HEADER, header.toBytes());
        w.write(RecordType.DOMAIN_CONFIG, ConfigRecord.toBytes(config));
        long[] counts = writePages(w, pages);
        if (counts[0] + counts[1] != header.pages()) {
            throw new IOException("the domain has " + (counts[0] + counts[1]) + " populated pages, the header said " + header.pages());
        }
        writeState(w, image);
        w.write(RecordType.END, new Payload.Out().i32(w.records()).i64(header.pages()).toBytes());
        w.close();
        return new Written(w.bytes(), counts[0], counts[1], w.records());
    }

    /** The records of everything but memory: VCPU … XENSTORE (shared with live migration's last round). */
    static void writeState(RecordStream.Writer w, MachineImage image) throws IOException {
        for (int i = 0; i < image.vcpus().size(); i++) {
            byte[] cpu = image.vcpus().get(i).toBytes();
            w.write(RecordType.VCPU, new Payload.Out().i32(i).blob(cpu).toBytes());
        }
        if (image.pv() == null) { // a PV domain has neither: its Xen state is in PV_DOMAIN
            w.write(RecordType.PLATFORM, image.platform().toBytes());
            Payload.Out pci = new Payload.Out().i32(image.pciHeaders().size());
            for (Map.Entry<Integer, int[]> e : new TreeMap<>(image.pciHeaders()).entrySet()) {
                pci.i32(e.getKey()).i32(e.getValue().length);
                for (int v : e.getValue()) {
                    pci.i32(v);
                }
            }
            w.write(RecordType.PCI_HEADERS, pci.toBytes());
        }
        for (Map.Entry<String, byte[]> e : image.deviceModels().entrySet()) {
            w.write(RecordType.DEVICE_MODEL, new Payload.Out().str(e.getKey()).blob(e.getValue()).toBytes());
        }
        for (Map.Entry<String, byte[]> e : image.backends().entrySet()) {
            w.write(RecordType.BACKEND, new Payload.Out().str(e.getKey()).blob(e.getValue()).toBytes());
        }
        if (image.evtchn() != null) {
            w.write(RecordType.EVENT_CHANNELS, image.evtchn().toBytes());
        }
        if (image.gnttab() != null) {
            w.write(RecordType.GRANT_TABLE, image.gnttab().toBytes());
        }
        Payload.Out xs = new Payload.Out().i32(image.xenstore().size());
        for (Map.Entry<String, byte[]> e : new TreeMap<>(image.xenstore()).entrySet()) {
            xs.str(e.getKey()).blob(e.getValue());
        }
        w.write(RecordType.XENSTORE, xs.toBytes());
        if (image.pvhvm() != null) {
            w.write(RecordType.PVHVM_SUSPEND, image.pvhvm().toBytes());
        }
        if (image.pv() != null) {
            w.write(RecordType.PV_DOMAIN, image.pv().toBytes());
        }
    }

    /**
     * The page records of {@code pages} into {@code out} (flushed), without the other records: a
     * save's, a snapshot's page loop run on a throwaway source and stream, so that a JVM's first
     * capture does not run it interpreted. Returns {pages with contents, zero pages}.
     */
    public static long[] dryRunPages(OutputStream out, PageSource pages) throws IOException {
        RecordStream.Writer w = new RecordStream.Writer(out);
        long[] counts = writePages(w, pages);
        w.flush();
        return counts;
    }

    private static long[] writePages(RecordStream.Writer w, PageSource pages) throws IOException {
        byte[] data = new byte[BATCH_PAGES * PAGE];
        int[] gfns = new int[BATCH_PAGES];
        int[] zeros = new int[BATCH_PAGES * 4];
        int n = 0, z = 0;
        long full = 0, zero = 0;
        for (long gfn = 0; gfn < pages.gfnLimit(); gfn++) {
            int got = pages.readNonZero(gfn, data, n * PAGE);
            if (got == ABSENT) {
                continue;
            }
            if (got == ZERO_PAGE) {
                zeros[z++] = (int) gfn;
                zero++;
                if (z == zeros.length) {
                    flushZeros(w, zeros, z);
                    z = 0;
                }
                continue;
            }
            gfns[n++] = (int) gfn;
            full++;
            if (n == BATCH_PAGES) {
                flushBatch(w, gfns, data, n);
                n = 0;
            }
        }
        if (n > 0) {
            flushBatch(w, gfns, data, n);
        }
        if (z > 0) {
            flushZeros(w, zeros, z);
        }
        return new long[] {full, zero};
    }

    static void flushBatch(RecordStream.Writer w, int[] gfns, byte[] data, int n) throws IOException {
        byte[] numbers = new byte[4 + 4 * n];
        RecordStream.putInt(numbers, 0, n);
        for (int i = 0; i < n; i++) {
            RecordStream.putInt(numbers, 4 + 4 * i, gfns[i]);
        }
        w.write(RecordType.PAGE_BATCH.number(), numbers, 0, numbers.length, data, 0, n * PAGE);
    }

    static void flushZeros(RecordStream.Writer w, int[] gfns, int n) throws IOException {
        byte[] payload = new byte[4 + 4 * n];
        RecordStream.putInt(payload, 0, n);
        for (int i = 0; i < n; i++) {
            RecordStream.putInt(payload, 4 + 4 * i, gfns[i]);
        }
        w.write(RecordType.ZERO_PAGES, payload);
    }

    // ------------------------------------------------------------------ read

    /** The checking pass: throws with the reason for any stream this version cannot restore exactly. */
    public static Scanned scan(InputStream in) throws IOException, SaveFormatException {
        RecordStream.Reader r = new RecordStream.Reader(in);
        RecordStream.Record first = r.next();
        if (first == null) {
            throw new SaveFormatException("the image is empty");
        }
        if (first.type() != RecordType.HEADER.number()) {
            // the header decides between "not a save image" and "damaged": try it as a header anyway
            throw new SaveFormatException("not a xenj save image (first record is " + RecordType.describe(first.type()) + ")");
        }
        SaveHeader header = SaveHeader.parse(first.payload());
        RecordStream.Record second = r.next();
        if (second == null || second.type() != RecordType.DOMAIN_CONFIG.number()) {
            throw new SaveFormatException("the image has no domain configuration record after its header");
        }
        DomainConfig config = ConfigRecord.parse(second.payload());
        if (!config.type().name().equals(header.domainType()) || config.vcpus() != header.vcpus()
                || config.memoryMiB() != header.memoryMiB()) {
            throw new SaveFormatException("the header and the domain configuration record disagree (type, vcpus or memory)");
        }
        CpuState[] cpus = new CpuState[header.vcpus()];
        PlatformState platform = null;
        Map<Integer, int[]> pci = null;
        Map<String, byte[]> models = new LinkedHashMap<>();
        Map<String, byte[]> backends = new LinkedHashMap<>();
        EventChannelsState evtchn = null;
        GrantTableState gnttab = null;
        Map<String, byte[]> xenstore = null;
        PvhvmSuspendState pvhvm = null;
        PvDomainState pv = null;
        boolean pvType = "PV".equals(header.domainType());
        BitSet gfns = new BitSet();
        long pages = 0, zeroPages = 0;
        EnumSet<RecordType> seen = EnumSet.of(RecordType.HEADER, RecordType.DOMAIN_CONFIG);
        while (true) {
            RecordStream.Record rec = r.next();
            if (rec == null) {
                throw new SaveFormatException("the image is cut short: no END record after record " + (r.index() - 1));
            }
            RecordType type = RecordType.of(rec.type());
            if (type == null) {
                throw new SaveFormatException("record " + (r.index() - 1) + " at byte " + rec.offset() + " is of "
                        + RecordType.describe(rec.type()) + ", which this xenj cannot restore");
            }
            String what = type + " record " + (r.index() - 1);
            boolean repeatable = type == RecordType.PAGE_BATCH || type == RecordType.ZERO_PAGES || type == RecordType.VCPU
                    || type == RecordType.DEVICE_MODEL || type == RecordType.BACKEND;
            if (!seen.add(type) && !repeatable) {
                throw new SaveFormatException(what + " is a second " + type + " record");
            }
            try {
                switch (type) {
                    case HEADER, DOMAIN_CONFIG -> throw new SaveFormatException(what + " is out of place");
                    case PAGE_BATCH -> pages += pageNumbers(rec.payload(), true, gfns, what);
                    case ZERO_PAGES -> zeroPages += pageNumbers(rec.payload(), false, gfns, what);
                    case VCPU -> {
                        Payload.In p = new Payload.In(rec.payload(), what);
                        int i = p.i32();
                        byte[] b = p.blob();
                        p.end();
                        if (i < 0 || i >= cpus.length || cpus[i] != null) {
                            throw new SaveFormatException(what + " is for vCPU " + i + " (the domain has " + cpus.length
                                    + "; or a second record for it)");
                        }
                        cpus[i] = CpuState.fromBytes(b);
                    }
                    case PLATFORM -> {
                        platform = PlatformState.fromBytes(rec.payload());
                        if (platform.lapics().length != cpus.length) {
                            throw new SaveFormatException(what + " has " + platform.lapics().length + " local APICs for "
                                    + cpus.length + " vCPUs");
                        }
                    }
                    case PCI_HEADERS -> pci = pciHeaders(rec.payload(), what);
                    case DEVICE_MODEL, BACKEND -> {
                        Payload.In p = new Payload.In(rec.payload(), what);
                        String name = p.str();
                        byte[] state = p.blob();
                        p.end();
                        Map<String, byte[]> into = type == RecordType.BACKEND ? backends : models;
                        if (name == null || into.put(name, state) != null) {
                            throw new SaveFormatException(what + " names no device model/backend, or one named twice");
                        }
                    }
                    case EVENT_CHANNELS -> evtchn = EventChannelsState.fromBytes(rec.payload());
                    case GRANT_TABLE -> gnttab = GrantTableState.fromBytes(rec.payload());
                    case XENSTORE -> xenstore = xenstore(rec.payload(), what);
                    case PVHVM_SUSPEND -> {
                        pvhvm = PvhvmSuspendState.fromBytes(rec.payload());
                        if (pvhvm.suspendVcpu() >= cpus.length) {
                            throw new SaveFormatException(what + " names vCPU " + pvhvm.suspendVcpu() + " (the domain has " + cpus.length + ")");
                        }
                        for (int g : pvhvm.xenFrameGfns()) {
                            if (gfns.get(g)) {
                                throw new SaveFormatException(what + " is damaged (frame " + g + " is both Xen's and in the page records)");
                            }
                        }
                    }
                    case PV_DOMAIN -> {
                        if (!pvType) {
                            throw new SaveFormatException(what + " is in the image of a " + header.domainType() + " domain");
                        }
                        pv = PvDomainState.fromBytes(rec.payload());
                        if (pv.vcpus().size() != cpus.length || pv.p2m().length + pv.specialFrames().length != header.pages()) {
                            throw new SaveFormatException(what + " is damaged (" + pv.vcpus().size() + " vCPUs, "
                                    + (pv.p2m().length + pv.specialFrames().length) + " frames; the header says " + cpus.length
                                    + " and " + header.pages() + ")");
                        }
                    }
                    case END -> {
                        Payload.In p = new Payload.In(rec.payload(), what);
                        int before = p.i32();
                        long total = p.i64();
                        p.end();
                        if (before != r.index() - 1 || total != header.pages() || pages + zeroPages != header.pages()) {
                            throw new SaveFormatException("the image is incomplete: END counts " + before + " records and "
                                    + total + " pages, the stream had " + (r.index() - 1) + " records and " + (pages + zeroPages)
                                    + " pages (header: " + header.pages() + ")");
                        }
                        for (int i = 0; i < cpus.length; i++) {
                            if (cpus[i] == null) {
                                throw new SaveFormatException("the image has no VCPU record for vCPU " + i);
                            }
                        }
                        if (pvType) {
                            if (pv == null || xenstore == null || evtchn == null || gnttab == null) {
                                throw new SaveFormatException("the image lacks its " + (pv == null ? "PV_DOMAIN" : xenstore == null
                                        ? "XENSTORE" : evtchn == null ? "EVENT_CHANNELS" : "GRANT_TABLE") + " record");
                            }
                            if (platform != null || pci != null || pvhvm != null || !models.isEmpty()) {
                                throw new SaveFormatException("the image of a PV domain has HVM records (PLATFORM, PCI_HEADERS,"
                                        + " PVHVM_SUSPEND or DEVICE_MODEL)");
                            }
                            BitSet mine = new BitSet();
                            for (int f : pv.allFrames()) {
                                mine.set(f);
                            }
                            if (!mine.equals(gfns)) {
                                throw new SaveFormatException("the PV_DOMAIN record's frames are not the page records' frames");
                            }
                        } else if (platform == null || pci == null || xenstore == null) {
                            throw new SaveFormatException("the image lacks its " + (platform == null ? "PLATFORM" : pci == null
                                    ? "PCI_HEADERS" : "XENSTORE") + " record");
                        }
                        if (in.read() != -1) {
                            throw new SaveFormatException("the image has data after its END record");
                        }
                        MachineImage image = new MachineImage(List.of(cpus), platform, pvType ? Map.of() : pci, models, backends, evtchn,
                                gnttab, xenstore, pvhvm, pv);
                        return new Scanned(header, config, image, pages, zeroPages, gfns);
                    }
                    default -> throw new SaveFormatException(what + " is not expected");
                }
            } catch (IOException | IllegalArgumentException e) {
                throw new SaveFormatException(what + " is damaged: " + e.getMessage(), e);
            }
        }
    }

    /** Checks a page record's frame numbers (unique across the stream); returns how many it has. */
    private static int pageNumbers(byte[] p, boolean withData, BitSet gfns, String what) throws SaveFormatException {
        if (p.length < 4) {
            throw new SaveFormatException(what + " is damaged (too short)");
        }
        int n = RecordStream.getInt(p, 0);
        long expected = 4L + 4L * n + (withData ? (long) n * PAGE : 0);
        if (n < 1 || n > (withData ? BATCH_PAGES : BATCH_PAGES * 4) || expected != p.length) {
            throw new SaveFormatException(what + " is damaged (" + n + " pages in " + p.length + " bytes)");
        }
        for (int i = 0; i < n; i++) {
            int gfn = RecordStream.getInt(p, 4 + 4 * i);
            if (gfn < 0 || gfns.get(gfn)) {
                throw new SaveFormatException(what + " is damaged (frame " + gfn + " " + (gfn < 0 ? "out of range" : "given twice") + ")");
            }
            gfns.set(gfn);
        }
        return n;
    }

    static Map<Integer, int[]> pciHeaders(byte[] payload, String what) throws SaveFormatException {
        Payload.In p = new Payload.In(payload, what);
        int n = p.count(8);
        Map<Integer, int[]> out = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            int bdf = p.i32();
            int len = p.count(4);
            if (bdf < 0 || bdf > 255 || len > 64) {
                throw new SaveFormatException(what + " is damaged (function " + bdf + ", " + len + " words)");
            }
            int[] h = new int[len];
            for (int j = 0; j < len; j++) {
                h[j] = p.i32();
            }
            if (out.put(bdf, h) != null) {
                throw new SaveFormatException(what + " is damaged (function " + bdf + " twice)");
            }
        }
        p.end();
        return out;
    }

    static Map<String, byte[]> xenstore(byte[] payload, String what) throws SaveFormatException {
        Payload.In p = new Payload.In(payload, what);
        int n = p.count(8);
        Map<String, byte[]> out = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            String path = p.str();
            byte[] v = p.blob();
            if (path == null || path.startsWith("/") || path.contains("..") || out.put(path, v) != null) {
                throw new SaveFormatException(what + " is damaged (node path " + path + ")");
            }
        }
        p.end();
        return out;
    }

    /**
     * The loading pass, after {@link #scan} accepted the same bytes: every page into {@code sink}.
     * Frames must be populated in the new domain (same layout); the records are checked again.
     */
    public static long loadPages(InputStream in, PageSink sink) throws IOException, SaveFormatException {
        RecordStream.Reader r = new RecordStream.Reader(in);
        long loaded = 0;
        for (RecordStream.Record rec; (rec = r.next()) != null;) {
            if (rec.type() == RecordType.END.number()) {
                return loaded;
            }
            boolean data = rec.type() == RecordType.PAGE_BATCH.number();
            if (!data && rec.type() != RecordType.ZERO_PAGES.number()) {
                continue;
            }
            byte[] p = rec.payload();
            int n = RecordStream.getInt(p, 0);
            if (n < 1 || 4L + 4L * n + (data ? (long) n * PAGE : 0) != p.length) {
                throw new SaveFormatException("the image changed while it was being restored");
            }
            for (int i = 0; i < n; i++) {
                long gfn = RecordStream.getInt(p, 4 + 4 * i) & 0xffffffffL;
                if (!sink.populated(gfn)) {
                    throw new SaveFormatException("the image has guest frame 0x" + Long.toHexString(gfn)
                            + ", which the restored domain's memory layout lacks");
                }
                if (data) {
                    sink.write(gfn, p, 4 + 4 * n + i * PAGE);
                } else {
                    sink.writeZero(gfn);
                }
                loaded++;
            }
        }
        throw new SaveFormatException("the image changed while it was being restored (no END record)");
    }

    /** For tests: the records of a stream as (type, payload) pairs, without checks beyond the framing. */
    static List<RecordStream.Record> records(byte[] stream) throws IOException, SaveFormatException {
        RecordStream.Reader r = new RecordStream.Reader(new DataInputStream(new ByteArrayInputStream(stream)));
        List<RecordStream.Record> out = new ArrayList<>();
        for (RecordStream.Record rec; (rec = r.next()) != null;) {
            out.add(rec);
        }
        return out;
    }
}
