package org.xenj.hypervisor.internal.save;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.internal.cpu.CpuState;
import org.xenj.hypervisor.internal.evtchn.EventChannelsState;
import org.xenj.hypervisor.internal.gnttab.GrantTableState;
import org.xenj.hypervisor.internal.platform.PlatformState;

/**
 * The live-migration stream (format in {@code DESIGN-save.md}): the save stream's records sent
 * over a connection, with pages repeated across pre-copy rounds. HEADER and DOMAIN_CONFIG first;
 * then rounds of PAGE_BATCH / ZERO_PAGES each closed by a ROUND_END; STOP (the source is paused);
 * the last dirty pages; the state records of a save (VCPU … XENSTORE); END. The receiver's replies
 * and the handshake use the same framing ({@link #HELLO} … {@link #GO}).
 *
 * <p>Unlike a save image the stream cannot be read twice, so the receiver checks each record as it
 * comes and the caller destroys what it created on any error.
 */
public final class MigrationStream {

    /** Closes a pre-copy round: {@code u32 round, u64 pages sent in it, u64 pages dirtied during it}. */
    public static final int ROUND_END = 32;
    /** The source is paused; {@code u64 source guest time (ns)}. Last pages and state follow. */
    public static final int STOP = 33;
    /** Receiver → sender: {@code u64 "XJMIGRAT"}, {@code u32 protocol version}, 32-byte challenge. */
    public static final int HELLO = 48;
    /** Sender → receiver: 32-byte challenge, HMAC-SHA256 proof. */
    public static final int AUTH = 49;
    /** Receiver → sender: its HMAC-SHA256 proof (mutual authentication). */
    public static final int AUTH_OK = 50;
    /** Receiver → sender: {@code u32 0 ok / 1 failed, u32 domid, message}. */
    public static final int STATUS = 51;
    /** Sender → receiver: the source is retired, resume the domain. Empty. */
    public static final int GO = 52;
    /**
     * Receiver → sender (protocol 2): {@code u32 round, u64 pages loaded so far}, sent when the
     * receiver has loaded every page up to that round's ROUND_END. The sender waits for it before
     * it decides to stop, so the stop never includes a receiver still reading earlier rounds out
     * of the socket buffers (several MB on loopback), and its rate is the end-to-end one.
     */
    public static final int ROUND_ACK = 53;

    public static final long MAGIC = 0x584a4d4947524154L; // "XJMIGRAT"
    /** 2: the receiver acknowledges each round (ROUND_ACK); version 1 had no acknowledgement. */
    public static final int PROTOCOL_VERSION = 2;

    private MigrationStream() {
    }

    // ------------------------------------------------------------------ small records

    public static byte[] hello(byte[] challenge) throws IOException {
        return new Payload.Out().i64(MAGIC).i32(PROTOCOL_VERSION).blob(challenge).toBytes();
    }

    /** The challenge of a HELLO; refuses another protocol or version. */
    public static byte[] parseHello(byte[] p) throws SaveFormatException {
        Payload.In in = new Payload.In(p, "the receiver's greeting");
        if (p.length < 12 || in.i64() != MAGIC) {
            throw new SaveFormatException("the peer is not a xenj migration receiver");
        }
        int v = in.i32();
        if (v != PROTOCOL_VERSION) {
            throw new SaveFormatException("the receiver speaks migration protocol " + v + ", this xenj " + PROTOCOL_VERSION);
        }
        byte[] c = in.blob();
        in.end();
        if (c.length != 32) {
            throw new SaveFormatException("the receiver's greeting is damaged");
        }
        return c;
    }

    public static byte[] twoBlobs(byte[] a, byte[] b) throws IOException {
        return new Payload.Out().blob(a).blob(b).toBytes();
    }

    public static byte[][] parseTwoBlobs(byte[] p, String what) throws SaveFormatException {
        Payload.In in = new Payload.In(p, what);
        byte[][] out = {in.blob(), in.blob()};
        in.end();
        return out;
    }

    public static byte[] blob(byte[] a) throws IOException {
        return new Payload.Out().blob(a).toBytes();
    }

    public static byte[] parseBlob(byte[] p, String what) throws SaveFormatException {
        Payload.In in = new Payload.In(p, what);
        byte[] b = in.blob();
        in.end();
        return b;
    }

    /** A receiver's acknowledgement of a round. */
    public record RoundAck(int round, long pagesLoaded) {
    }

    public static byte[] roundAck(RoundAck a) throws IOException {
        return new Payload.Out().i32(a.round()).i64(a.pagesLoaded()).toBytes();
    }

    public static RoundAck parseRoundAck(byte[] p) throws SaveFormatException {
        Payload.In in = new Payload.In(p, "the receiver's acknowledgement");
        int round = in.i32();
        long pages = in.i64();
        in.end();
        if (round < 1 || pages < 0) {
            throw new SaveFormatException("the receiver's acknowledgement is damaged (round " + round + ", " + pages + " pages)");
        }
        return new RoundAck(round, pages);
    }

    /** The round a ROUND_END closes (for receivers other than {@link #receive}). */
    public static int roundOf(byte[] roundEnd) throws SaveFormatException {
        Payload.In in = new Payload.In(roundEnd, "ROUND_END");
        int round = in.i32();
        in.i64();
        in.i64();
        in.end();
        return round;
    }

    /** A receiver's answer. */
    public record Status(boolean ok, int domid, String message) {
    }

    public static byte[] status(Status s) throws IOException {
        return new Payload.Out().i32(s.ok() ? 0 : 1).i32(s.domid()).str(s.message()).toBytes();
    }

    public static Status parseStatus(byte[] p) throws SaveFormatException {
        Payload.In in = new Payload.In(p, "the receiver's status");
        int ok = in.i32();
        int domid = in.i32();
        String m = in.str();
        in.end();
        if (ok != 0 && ok != 1) {
            throw new SaveFormatException("the receiver's status is damaged");
        }
        return new Status(ok == 0, domid, m == null ? "" : m);
    }

    // ------------------------------------------------------------------ sender

    /** Writes the stream; counts what it sent. Not thread-safe. */
    public static final class Out {
        private final RecordStream.Writer w;
        private final byte[] data = new byte[SaveStream.BATCH_PAGES * SaveStream.PAGE];
        private final int[] gfns = new int[SaveStream.BATCH_PAGES];
        private final int[] zeros = new int[SaveStream.BATCH_PAGES * 4];
        private long pagesSent;

        public Out(OutputStream out) {
            this.w = new RecordStream.Writer(out);
        }

        public void raw(int type, byte[] payload) throws IOException {
            w.write(type, payload, 0, payload.length);
        }

        public void flush() throws IOException {
            w.flush();
        }

        public long bytes() {
            return w.bytes();
        }

        /** Pages sent so far, with repeats across rounds. */
        public long pagesSent() {
            return pagesSent;
        }

        public void header(SaveHeader h, DomainConfig config) throws IOException {
            w.write(RecordType.HEADER, h.toBytes());
            w.write(RecordType.DOMAIN_CONFIG, ConfigRecord.toBytes(config));
        }

        /**
         * Sends the frames in {@code set} (every frame below the source's limit when null) that the
         * source has; returns {pages with contents, zero pages}.
         */
        public long[] pages(BitSet set, SaveStream.PageSource src) throws IOException {
            int n = 0, z = 0;
            long full = 0, zero = 0;
            long limit = src.gfnLimit();
            for (long gfn = set == null ? 0 : set.nextSetBit(0); gfn >= 0 && gfn < limit;
                    gfn = set == null ? gfn + 1 : set.nextSetBit((int) gfn + 1)) {
                int got = src.readNonZero(gfn, data, n * SaveStream.PAGE);
                if (got == SaveStream.ABSENT) {
                    continue;
                }
                if (got == SaveStream.ZERO_PAGE) {
                    zeros[z++] = (int) gfn;
                    zero++;
                    if (z == zeros.length) {
                        SaveStream.flushZeros(w, zeros, z);
                        z = 0;
                    }
                    continue;
                }
                gfns[n++] = (int) gfn;
                full++;
                if (n == SaveStream.BATCH_PAGES) {
                    SaveStream.flushBatch(w, gfns, data, n);
                    n = 0;
                }
            }
            if (n > 0) {
                SaveStream.flushBatch(w, gfns, data, n);
            }
            if (z > 0) {
                SaveStream.flushZeros(w, zeros, z);
            }
            pagesSent += full + zero;
            return new long[] {full, zero};
        }

        public void roundEnd(int round, long sent, long dirty) throws IOException {
            w.write(ROUND_END, new Payload.Out().i32(round).i64(sent).i64(dirty).toBytes(), 0, 20);
            w.flush();
        }

        public void stop(long guestNanos) throws IOException {
            w.write(STOP, new Payload.Out().i64(guestNanos).toBytes(), 0, 8);
        }

        public void state(MachineImage image) throws IOException {
            SaveStream.writeState(w, image);
        }

        public void end() throws IOException {
            endRecord();
            w.flush();
        }

        /** The END record without the flush that sends it (the source times the two apart). */
        public void endRecord() throws IOException {
            w.write(RecordType.END, new Payload.Out().i32(w.records()).i64(pagesSent).toBytes());
        }
    }

    // ------------------------------------------------------------------ receiver

    /** What the receiver does with the stream as it arrives. */
    public interface Target {
        /** Header and configuration checked: create the domain (paused) and say where its pages go. */
        SaveStream.PageSink begin(SaveHeader header, DomainConfig config) throws SaveFormatException;

        /**
         * A pre-copy round ended and every page before it is loaded: the receiver acknowledges it
         * (protocol 2) and keeps it for its log.
         */
        default void roundEnd(int round, long sent, long dirty, long pagesLoaded) throws IOException {
        }

        /** The source stopped at this guest time. */
        default void stopped(long guestNanos) {
        }
    }

    /**
     * Reads a whole migration stream after the handshake, checking every record; pages go to the
     * target's sink as they arrive. Returns the machine state of the END.
     */
    public static MachineImage receive(RecordStream.Reader r, Target target) throws IOException, SaveFormatException {
        RecordStream.Record first = next(r);
        if (first.type() != RecordType.HEADER.number()) {
            throw new SaveFormatException("the migration stream does not start with a header (" + RecordType.describe(first.type()) + ")");
        }
        SaveHeader header = SaveHeader.parse(first.payload());
        RecordStream.Record second = next(r);
        if (second.type() != RecordType.DOMAIN_CONFIG.number()) {
            throw new SaveFormatException("the migration stream has no domain configuration after its header");
        }
        DomainConfig config = ConfigRecord.parse(second.payload());
        if (!config.type().name().equals(header.domainType()) || config.vcpus() != header.vcpus()
                || config.memoryMiB() != header.memoryMiB()) {
            throw new SaveFormatException("the header and the domain configuration record disagree (type, vcpus or memory)");
        }
        SaveStream.PageSink sink = target.begin(header, config);
        boolean stopped = false;
        int rounds = 0;
        long pages = 0, pagesBefore = 0;
        CpuState[] cpus = new CpuState[header.vcpus()];
        PlatformState platform = null;
        Map<Integer, int[]> pci = null;
        Map<String, byte[]> models = new LinkedHashMap<>();
        Map<String, byte[]> backends = new LinkedHashMap<>();
        EventChannelsState evtchn = null;
        GrantTableState gnttab = null;
        Map<String, byte[]> xenstore = null;
        PvhvmSuspendState pvhvm = null;
        BitSet received = new BitSet();
        List<Integer> seen = new ArrayList<>();
        while (true) {
            RecordStream.Record rec = next(r);
            String what = (rec.type() == ROUND_END ? "ROUND_END" : rec.type() == STOP ? "STOP" : RecordType.describe(rec.type()))
                    + " record " + (r.index() - 1);
            int t = rec.type();
            boolean page = t == RecordType.PAGE_BATCH.number() || t == RecordType.ZERO_PAGES.number();
            boolean stateRec = t >= RecordType.VCPU.number() && t <= RecordType.XENSTORE.number()
                    || t == RecordType.PVHVM_SUSPEND.number();
            if (page && seen.size() > 0) {
                throw new SaveFormatException(what + " comes after the state records");
            }
            if (stateRec && !stopped) {
                throw new SaveFormatException(what + " comes before the source stopped");
            }
            boolean repeatable = t == RecordType.VCPU.number() || t == RecordType.DEVICE_MODEL.number() || t == RecordType.BACKEND.number();
            if (stateRec) {
                if (!repeatable && seen.contains(t)) {
                    throw new SaveFormatException(what + " is a second one");
                }
                seen.add(t);
            }
            try {
                if (page) {
                    pages += loadPages(rec.payload(), t == RecordType.PAGE_BATCH.number(), sink, what, received);
                } else if (t == ROUND_END) {
                    Payload.In p = new Payload.In(rec.payload(), what);
                    int round = p.i32();
                    long sent = p.i64(), dirty = p.i64();
                    p.end();
                    if (stopped || round != rounds + 1 || sent < 0 || dirty < 0) {
                        throw new SaveFormatException(what + " is out of order (round " + round + " after " + rounds + ")");
                    }
                    if (pagesBefore + sent != pages) {
                        throw new SaveFormatException(what + " counts " + sent + " pages in round " + round + ", the stream had "
                                + (pages - pagesBefore));
                    }
                    rounds = round;
                    pagesBefore = pages;
                    target.roundEnd(round, sent, dirty, pages);
                } else if (t == STOP) {
                    Payload.In p = new Payload.In(rec.payload(), what);
                    long guestNanos = p.i64();
                    p.end();
                    if (stopped || guestNanos < 0) {
                        throw new SaveFormatException(what + " is a second STOP or damaged");
                    }
                    stopped = true;
                    target.stopped(guestNanos);
                } else if (t == RecordType.VCPU.number()) {
                    Payload.In p = new Payload.In(rec.payload(), what);
                    int i = p.i32();
                    byte[] b = p.blob();
                    p.end();
                    if (i < 0 || i >= cpus.length || cpus[i] != null) {
                        throw new SaveFormatException(what + " is for vCPU " + i + " (the domain has " + cpus.length + "; or a second one)");
                    }
                    cpus[i] = CpuState.fromBytes(b);
                } else if (t == RecordType.PLATFORM.number()) {
                    platform = PlatformState.fromBytes(rec.payload());
                    if (platform.lapics().length != cpus.length) {
                        throw new SaveFormatException(what + " has " + platform.lapics().length + " local APICs for " + cpus.length + " vCPUs");
                    }
                } else if (t == RecordType.PCI_HEADERS.number()) {
                    pci = SaveStream.pciHeaders(rec.payload(), what);
                } else if (t == RecordType.DEVICE_MODEL.number() || t == RecordType.BACKEND.number()) {
                    Payload.In p = new Payload.In(rec.payload(), what);
                    String name = p.str();
                    byte[] state = p.blob();
                    p.end();
                    Map<String, byte[]> into = t == RecordType.BACKEND.number() ? backends : models;
                    if (name == null || into.put(name, state) != null) {
                        throw new SaveFormatException(what + " names no device model/backend, or one named twice");
                    }
                } else if (t == RecordType.EVENT_CHANNELS.number()) {
                    evtchn = EventChannelsState.fromBytes(rec.payload());
                } else if (t == RecordType.GRANT_TABLE.number()) {
                    gnttab = GrantTableState.fromBytes(rec.payload());
                } else if (t == RecordType.XENSTORE.number()) {
                    xenstore = SaveStream.xenstore(rec.payload(), what);
                } else if (t == RecordType.PVHVM_SUSPEND.number()) {
                    pvhvm = PvhvmSuspendState.fromBytes(rec.payload());
                    if (pvhvm.suspendVcpu() >= cpus.length) {
                        throw new SaveFormatException(what + " names vCPU " + pvhvm.suspendVcpu() + " (the domain has " + cpus.length + ")");
                    }
                    for (int g : pvhvm.xenFrameGfns()) {
                        if (received.get(g)) {
                            throw new SaveFormatException(what + " is damaged (frame " + g + " is both Xen's and in the page records)");
                        }
                    }
                } else if (t == RecordType.END.number()) {
                    Payload.In p = new Payload.In(rec.payload(), what);
                    int before = p.i32();
                    long total = p.i64();
                    p.end();
                    if (!stopped || before != r.index() - 1 || total != pages) {
                        throw new SaveFormatException("the migration stream is incomplete: END counts " + before + " records and " + total
                                + " pages, the stream had " + (r.index() - 1) + " and " + pages + (stopped ? "" : " (no STOP)"));
                    }
                    for (int i = 0; i < cpus.length; i++) {
                        if (cpus[i] == null) {
                            throw new SaveFormatException("the migration stream has no VCPU record for vCPU " + i);
                        }
                    }
                    if (platform == null || pci == null || xenstore == null) {
                        throw new SaveFormatException("the migration stream lacks its " + (platform == null ? "PLATFORM"
                                : pci == null ? "PCI_HEADERS" : "XENSTORE") + " record");
                    }
                    return new MachineImage(List.of(cpus), platform, pci, models, backends, evtchn, gnttab, xenstore, pvhvm);
                } else {
                    throw new SaveFormatException(what + " is not expected in a migration stream");
                }
            } catch (IOException | IllegalArgumentException e) {
                // the state parsers (CpuState, PlatformState, EventChannelsState, GrantTableState) say what is wrong, not where
                throw new SaveFormatException(what + " is damaged: " + (e.getMessage() != null ? e.getMessage() : e.toString()), e);
            }
        }
    }

    private static RecordStream.Record next(RecordStream.Reader r) throws IOException, SaveFormatException {
        RecordStream.Record rec = r.next();
        if (rec == null) {
            throw new SaveFormatException("the migration stream ended early (after record " + (r.index() - 1) + ")");
        }
        return rec;
    }


    private static int loadPages(byte[] p, boolean data, SaveStream.PageSink sink, String what, BitSet received)
            throws SaveFormatException {
        if (p.length < 4) {
            throw new SaveFormatException(what + " is damaged (too short)");
        }
        int n = RecordStream.getInt(p, 0);
        long expected = 4L + 4L * n + (data ? (long) n * SaveStream.PAGE : 0);
        if (n < 1 || n > (data ? SaveStream.BATCH_PAGES : SaveStream.BATCH_PAGES * 4) || expected != p.length) {
            throw new SaveFormatException(what + " is damaged (" + n + " pages in " + p.length + " bytes)");
        }
        for (int i = 0; i < n; i++) {
            long gfn = RecordStream.getInt(p, 4 + 4 * i) & 0xffffffffL;
            if (!sink.populated(gfn)) {
                throw new SaveFormatException(what + " has guest frame 0x" + Long.toHexString(gfn) + ", which the domain's memory lacks");
            }
        }
        for (int i = 0; i < n; i++) {
            long gfn = RecordStream.getInt(p, 4 + 4 * i) & 0xffffffffL;
            if (data) {
                sink.write(gfn, p, 4 + 4 * n + i * SaveStream.PAGE);
            } else {
                sink.writeZero(gfn);
            }
            received.set((int) gfn);
        }
        return n;
    }
}
