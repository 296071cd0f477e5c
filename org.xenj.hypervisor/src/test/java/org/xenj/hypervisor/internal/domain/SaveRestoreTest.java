package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.SaveInfo;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.save.MachineImage;
import org.xenj.hypervisor.internal.save.SaveFormatException;
import org.xenj.hypervisor.internal.save.SaveStream;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * xl save / xl restore on a real HVM guest on the IA-32 CPU: it counts 1, 2, 3, ... into a memory
 * word and out to a device model's port without end. After a save and a restore the count goes on
 * from exactly where it stood (CPU, memory and device state all came back), the saved domain's
 * memory was returned, and damaged or foreign images are refused with the reason and nothing
 * created.
 */
class SaveRestoreTest {

    private static final int COUNTER_GPA = 0x2000;

    @TempDir
    Path dir;
    private TestCores.Fixture fx;
    private final CounterDeviceModel counter = new CounterDeviceModel();
    private final AtomicInteger last = counter.last;
    private final AtomicReference<String> error = counter.error;

    @BeforeEach
    void start() {
        fx = TestCores.start(1);
        fx.plugins().addBuilder(new HvmGuestBuilder());
        fx.plugins().addDeviceModel(counter);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    /** mov edx, 0x500; xor eax, eax; l: inc eax; mov [0x2000], eax; out dx, eax; jmp l. */
    private Domain counter(String name, String xenPlatformPci) throws Exception {
        Path elf = CounterDeviceModel.counterElf(dir, name);
        Domain d = fx.core().create(DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", xenPlatformPci)).build());
        assertTrue(TestCores.await(() -> last.get() > 1000, 10_000), "the guest counts: " + last.get());
        return d;
    }

    /**
     * The incoming migration's warm-up ({@code Guest.warmRestorePath}) on a domain built paused and
     * never run, as the receiver's is: its power-on vCPU and platform records read the same after it
     * (what it puts back is what it took), and the guest then runs as if it had not happened.
     */
    @Test
    void theRestoreWarmUpPutsBackThePowerOnState() throws Exception {
        Path elf = CounterDeviceModel.counterElf(dir, "fresh");
        Domain d = fx.core().create(DomainConfig.builder("fresh").type(DomainType.HVM).memoryMiB(16).startPaused(true)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "0")).build());
        MachineImage before = fx.core().guestOf(d.id()).saveMachine();
        fx.core().guestOf(d.id()).warmRestorePath();
        MachineImage after = fx.core().guestOf(d.id()).saveMachine();
        assertSameButTheClock(before, after, "as at power-on");
        assertEquals(0, last.get(), "nothing ran");
        fx.core().unpause(d.id());
        assertTrue(TestCores.await(() -> last.get() > 1000, 10_000), "the guest counts: " + last.get());
        assertEquals(null, error.get(), "every value once, in order");
        fx.core().destroy(d.id());
    }

    /**
     * Every record of {@code a} and {@code b} alike but the RTC's, which follows the clock between two
     * takes (its time since the base second, its periodic flag) with or without anything in between.
     */
    private static void assertSameButTheClock(MachineImage b, MachineImage a, String what) {
        assertEquals(b.platform().pit(), a.platform().pit(), "PIT " + what);
        assertEquals(b.platform().pic(), a.platform().pic(), "PICs " + what);
        assertEquals(b.platform().ioApic(), a.platform().ioApic(), "I/O APIC " + what);
        assertArrayEquals(b.platform().lapics(), a.platform().lapics(), "local APICs " + what);
        assertEquals(b.platform().acpiPm(), a.platform().acpiPm(), "ACPI PM " + what);
        assertArrayEquals(b.vcpus().get(0).toBytes(), a.vcpus().get(0).toBytes(), "vCPU " + what);
    }

    private int counterInMemory(int domid) {
        return fx.core().domainOrNull(domid).memory.read32(COUNTER_GPA);
    }

    @Test
    void savedGuestGoesOnCountingAfterRestoreAndItsMemoryWasReturned() throws Exception {
        long freeBefore = fx.core().info().freeMemoryKiB();
        Domain d = counter("counter", "1");
        Path image = dir.resolve("counter.save");
        SaveInfo info = fx.core().save(d.id(), image, false);
        int atSave = last.get();
        assertTrue(info.destroyed());
        assertEquals(Files.size(image), info.bytes());
        assertTrue(TestCores.await(() -> fx.core().lookup(d.id()).isEmpty(), 5_000), "xl save destroys the domain");
        assertEquals(freeBefore, fx.core().info().freeMemoryKiB(), "its memory (RAM and Xen's frames) is free");
        System.out.printf("save: %d bytes, %d pages + %d zero pages, paused %.1f ms%n", info.bytes(), info.pages(), info.zeroPages(),
                info.pausedNanos() / 1e6);

        Domain r = fx.core().restore(image, Map.of(), true);
        assertEquals(DomainState.PAUSED, r.state(), "restore -p");
        assertEquals("counter", r.name());
        assertEquals(d.uuid(), r.uuid());
        int mem = counterInMemory(r.id());
        assertTrue(mem == atSave || mem == atSave + 1, "memory holds the count at the save: " + mem + " vs " + atSave);
        // the incoming migration's warm-up of the restore paths puts back what it took: on a restored
        // guest (and it is a no-op there after restoreMachine began) every record reads the same after it
        MachineImage before = fx.core().guestOf(r.id()).saveMachine();
        fx.core().guestOf(r.id()).warmRestorePath();
        MachineImage after = fx.core().guestOf(r.id()).saveMachine();
        assertSameButTheClock(before, after, "unchanged by the warm-up");
        Thread.sleep(20);
        assertEquals(atSave, last.get(), "a paused restore runs nothing");
        fx.core().unpause(r.id());
        assertTrue(TestCores.await(() -> last.get() > atSave + 1000, 10_000), "counting goes on after the restore");
        assertEquals(null, error.get(), "every value exactly once, in order, across the save");
        assertTrue(fx.core().dmesg().stream().anyMatch(l -> l.contains("restored from")), String.join("\n", fx.core().dmesg()));
        fx.core().destroy(r.id());
    }

    @Test
    void saveWithPLeavesTheDomainPausedAndARestoreNeedsAnotherName() throws Exception {
        Domain d = counter("keep", "0");
        Path image = dir.resolve("keep.save");
        SaveInfo info = fx.core().save(d.id(), image, true);
        assertFalse(info.destroyed());
        assertEquals(DomainState.PAUSED, d.state(), "save -p leaves it paused");
        int atSave = last.get();
        HypervisorException clash = assertThrows(HypervisorException.class, () -> fx.core().restore(image, Map.of(), false));
        assertTrue(clash.getMessage().contains("already exists"), clash.getMessage());
        assertEquals(2, fx.core().list().size(), "nothing created by the refused restore");
        HypervisorException machine = assertThrows(HypervisorException.class,
                () -> fx.core().restore(image, Map.of("memory", "32"), false));
        assertTrue(machine.getMessage().contains("the image fixes the machine"), machine.getMessage());
        fx.core().destroy(d.id());
        assertTrue(TestCores.await(() -> fx.core().list().size() == 1, 5_000));
        Domain r = fx.core().restore(image, Map.of("name", "\"kept\"", "cpu_weight", "512"), false);
        assertEquals("kept", r.name());
        assertEquals(512, r.config().cpuWeight());
        assertTrue(TestCores.await(() -> last.get() > atSave + 1000, 10_000), "counting goes on after the restore");
        assertEquals(null, error.get());
        fx.core().destroy(r.id());
    }

    @Test
    void everyRecordRoundTrips() throws Exception {
        Domain d = counter("records", "1");
        fx.core().pause(d.id());
        MachineImage m = fx.core().guestOf(d.id()).saveMachine();
        Path image = dir.resolve("records.save");
        fx.core().save(d.id(), image, true);
        SaveStream.Scanned fromFile = scan(Files.readAllBytes(image));
        // write m with the file's header and configuration; what scan reads back must be m, record by record
        m = new MachineImage(m.vcpus(), m.platform(), m.pciHeaders(), m.deviceModels(), Map.of("vbd", new byte[] {1, 2, 3}), m.evtchn(),
                m.gnttab(), fromFile.image().xenstore());
        var memory = fx.core().domainOrNull(d.id()).memory;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SaveStream.write(out, fromFile.header(), fromFile.config(), m, new SaveStream.PageSource() {
            @Override
            public long gfnLimit() {
                return memory.gfnLimit();
            }

            @Override
            public boolean read(long gfn, byte[] dst, int off) {
                if (memory.mfn(gfn) < 0) {
                    return false;
                }
                memory.read(gfn << 12, dst, off, MachineMemory.PAGE_SIZE);
                return true;
            }
        });
        Files.write(image, out.toByteArray());
        SaveStream.Scanned s = scan(out.toByteArray());
        assertEquals(fromFile.header(), s.header(), "HEADER");
        assertArrayEquals(new byte[] {1, 2, 3}, s.image().backends().get("vbd"), "BACKEND");
        assertEquals("records", s.header().name());
        assertEquals(d.uuid(), s.header().uuid());
        assertEquals(16, s.header().memoryMiB());
        assertEquals(d.config().raw(), s.config().raw(), "config: raw keys");
        assertEquals(d.config().toString(), s.config().toString(), "config: every field");
        assertEquals(m.vcpus(), s.image().vcpus(), "VCPU");
        assertEquals(m.platform(), s.image().platform(), "PLATFORM");
        assertEquals(m.pciHeaders().keySet(), s.image().pciHeaders().keySet(), "PCI_HEADERS");
        m.pciHeaders().forEach((bdf, h) -> assertArrayEquals(h, s.image().pciHeaders().get(bdf), "PCI header " + bdf));
        assertEquals(m.deviceModels().keySet(), s.image().deviceModels().keySet(), "DEVICE_MODEL");
        assertArrayEquals(m.deviceModels().get("counter-dm"), s.image().deviceModels().get("counter-dm"));
        assertNotNull(m.evtchn());
        assertEquals(m.evtchn(), s.image().evtchn(), "EVENT_CHANNELS");
        assertEquals(m.gnttab(), s.image().gnttab(), "GRANT_TABLE");
        assertTrue(s.image().xenstore().containsKey("name"), "XENSTORE has the domain's nodes: " + s.image().xenstore().keySet());
        assertEquals(s.header().pages(), s.pages() + s.zeroPages(), "PAGE_BATCH + ZERO_PAGES cover every populated frame");
        assertEquals(fx.core().domainOrNull(d.id()).memory.populatedFrames(), s.header().pages());
        // and the pages: what loadPages delivers is the domain's memory, byte for byte
        var mem = fx.core().domainOrNull(d.id()).memory;
        Map<Long, byte[]> pages = new HashMap<>();
        SaveStream.loadPages(new ByteArrayInputStream(Files.readAllBytes(image)), new SaveStream.PageSink() {
            @Override
            public boolean populated(long gfn) {
                return mem.mfn(gfn) >= 0;
            }

            @Override
            public void write(long gfn, byte[] src, int off) {
                pages.put(gfn, java.util.Arrays.copyOfRange(src, off, off + MachineMemory.PAGE_SIZE));
            }
        });
        assertEquals(s.header().pages(), pages.size());
        byte[] page = new byte[MachineMemory.PAGE_SIZE];
        for (Map.Entry<Long, byte[]> e : pages.entrySet()) {
            mem.read(e.getKey() << 12, page, 0, page.length);
            assertArrayEquals(page, e.getValue(), "page " + e.getKey());
        }
        fx.core().destroy(d.id());
    }

    private static SaveStream.Scanned scan(byte[] b) throws Exception {
        return SaveStream.scan(new ByteArrayInputStream(b));
    }

    @Test
    void damagedForeignAndTruncatedImagesAreRefusedAndNothingIsCreated() throws Exception {
        Domain d = counter("victim", "1");
        Path image = dir.resolve("victim.save");
        fx.core().save(d.id(), image, false);
        assertTrue(TestCores.await(() -> fx.core().list().size() == 1, 5_000));
        byte[] good = Files.readAllBytes(image);
        long free = fx.core().info().freeMemoryKiB();
        List<int[]> records = recordOffsets(good);
        // one flipped bit in each record (type field, length field, payload, checksum): refused by name
        for (int[] r : records) {
            for (int at : new int[] {r[0] + 2, r[0] + 5, r[0] + 8 + r[1] / 2, r[0] + 8 + r[1] + 1}) {
                byte[] bad = good.clone();
                bad[at] ^= 0x04;
                String msg = refused(bad, "record at " + r[0] + " byte " + at);
                assertTrue(msg.contains("damaged") || msg.contains("cut short") || msg.contains("not a xenj save image"), msg);
            }
        }
        // another format version, re-checksummed so that only the version is wrong
        byte[] v2 = good.clone();
        v2[8 + 11] = 2;
        fixChecksum(v2, 0);
        assertTrue(refused(v2, "version 2").contains("save format version 2 is not supported (this xenj reads version 1)"));
        // a record type reserved for migration, properly framed
        byte[] mig = insertRecord(good, records.get(2)[0], 33, new byte[8]);
        assertTrue(refused(mig, "migration record").contains("reserved for live migration"));
        // truncated anywhere, also just before END and with nothing after the header
        for (int cut : new int[] {0, 5, records.get(1)[0], records.get(records.size() - 1)[0], good.length - 1}) {
            refused(java.util.Arrays.copyOf(good, cut), "cut at " + cut);
        }
        assertTrue(refused(java.util.Arrays.copyOf(good, records.get(records.size() - 1)[0]), "no END").contains("no END record"));
        byte[] trailing = java.util.Arrays.copyOf(good, good.length + 1);
        assertTrue(refused(trailing, "trailing byte").contains("after its END record"));
        assertEquals(1, fx.core().list().size(), "no domain created");
        assertEquals(free, fx.core().info().freeMemoryKiB(), "no memory taken");
        // the good image still restores
        Domain r = fx.core().restore(image, Map.of(), false);
        fx.core().destroy(r.id());
    }

    /**
     * Fuzz: 3000 mutated or truncated streams (random bit flips, byte runs, cuts, splices) and 1500
     * whose mutated records were re-checksummed so the record parsers behind the checksum see them.
     * Every one is either refused with a SaveFormatException or scans as a valid image: 0 internal
     * errors. 100 of the re-checksummed ones go through the core's restore: nothing stays behind.
     */
    @Test
    void fuzzedStreamsAreRefusedCleanly() throws Exception {
        Domain d = counter("fuzz", "1");
        Path image = dir.resolve("fuzz.save");
        fx.core().save(d.id(), image, false);
        assertTrue(TestCores.await(() -> fx.core().list().size() == 1, 5_000));
        byte[] good = Files.readAllBytes(image);
        List<int[]> records = recordOffsets(good);
        Random rnd = new Random(0x5a7e);
        int internal = 0, refusedCount = 0, accepted = 0, refusedUnfixed = 0, unchanged = 0, unfixed = 0;
        StringBuilder firstInternal = new StringBuilder();
        for (int i = 0; i < 4500; i++) {
            boolean fix = i >= 3000;
            byte[] bad = mutate(good, records, rnd, fix);
            if (java.util.Arrays.equals(bad, good)) {
                unchanged++; // a random run or extreme value equal to what was there
                continue;
            }
            unfixed += fix ? 0 : 1;
            try {
                scan(bad);
                accepted++;
            } catch (SaveFormatException e) {
                refusedCount++;
                refusedUnfixed += fix ? 0 : 1;
            } catch (Exception | Error e) {
                internal++;
                if (firstInternal.length() == 0) {
                    firstInternal.append("input ").append(i).append(": ").append(e);
                }
            }
        }
        System.out.printf("fuzz: 4500 streams (%d unchanged by their mutation, skipped), %d refused, %d accepted (re-checksummed"
                + " mutations of page contents or free fields), %d internal errors%n", unchanged, refusedCount, accepted, internal);
        assertEquals(0, internal, firstInternal.toString());
        assertEquals(unfixed, refusedUnfixed, "every stream damaged behind its checksums' back is refused");
        assertTrue(unfixed > 2900, "the mutations change the streams: " + unfixed);
        assertTrue(refusedCount > 3500, "most re-checksummed mutations are refused too: " + refusedCount);
        long free = fx.core().info().freeMemoryKiB();
        Path bad = dir.resolve("bad.save");
        int restored = 0;
        for (int i = 0; i < 100; i++) {
            Files.write(bad, mutate(good, records, rnd, true));
            try {
                Domain r = fx.core().restore(bad, Map.of(), true);
                restored++;
                fx.core().destroy(r.id());
                TestCores.await(() -> fx.core().list().size() == 1, 5_000);
            } catch (HypervisorException e) {
                assertTrue(e.getMessage().startsWith("cannot restore"), e.getMessage());
            }
            assertEquals(1, fx.core().list().size(), "nothing left behind by input " + i);
            assertEquals(free, fx.core().info().freeMemoryKiB(), "no memory kept by input " + i);
        }
        System.out.printf("fuzz through restore: 100 re-checksummed streams, %d restored (harmless mutations), the rest refused%n", restored);
    }

    private static byte[] mutate(byte[] good, List<int[]> records, Random rnd, boolean fixChecksums) {
        byte[] b = good.clone();
        int[] r = records.get(rnd.nextInt(records.size()));
        int kind = rnd.nextInt(fixChecksums ? 3 : 5);
        switch (kind) {
            case 0 -> { // flip bits in one record's payload (small records are the interesting ones)
                int n = 1 + rnd.nextInt(3);
                for (int k = 0; k < n && r[1] > 0; k++) {
                    b[r[0] + 8 + rnd.nextInt(r[1])] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> { // a run of random bytes
                if (r[1] > 0) {
                    int at = r[0] + 8 + rnd.nextInt(r[1]);
                    int n = Math.min(1 + rnd.nextInt(16), r[0] + 8 + r[1] - at);
                    for (int k = 0; k < n; k++) {
                        b[at + k] = (byte) rnd.nextInt(256);
                    }
                }
            }
            case 2 -> { // an int field set to an extreme
                if (r[1] >= 4) {
                    int at = r[0] + 8 + (rnd.nextInt(r[1] - 3) & ~3);
                    int v = new int[] {-1, 0, Integer.MAX_VALUE, Integer.MIN_VALUE, 1 << 20, 255}[rnd.nextInt(6)];
                    ByteBuffer.wrap(b, at, 4).putInt(v);
                }
            }
            case 3 -> {
                return java.util.Arrays.copyOf(b, rnd.nextInt(b.length)); // cut short
            }
            default -> { // anywhere, including framing
                b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
        }
        if (fixChecksums) {
            fixChecksum(b, r[0]);
        }
        return b;
    }

    private String refused(byte[] bad, String what) throws Exception {
        SaveFormatException e = assertThrows(SaveFormatException.class, () -> scan(bad), what);
        Path f = dir.resolve("refused.save");
        Files.write(f, bad);
        HypervisorException h = assertThrows(HypervisorException.class, () -> fx.core().restore(f, Map.of(), false), what);
        assertTrue(h.getMessage().contains("nothing was created"), h.getMessage());
        return e.getMessage();
    }

    /** Each record's {offset, payload length}. */
    private static List<int[]> recordOffsets(byte[] b) {
        List<int[]> out = new java.util.ArrayList<>();
        for (int at = 0; at < b.length;) {
            int len = ByteBuffer.wrap(b, at + 4, 4).getInt();
            out.add(new int[] {at, len});
            at += 12 + len;
        }
        return out;
    }

    private static void fixChecksum(byte[] b, int at) {
        int len = ByteBuffer.wrap(b, at + 4, 4).getInt();
        if (len < 0 || at + 12L + len > b.length) {
            return;
        }
        CRC32C c = new CRC32C();
        c.update(b, at, 8 + len);
        ByteBuffer.wrap(b, at + 8 + len, 4).putInt((int) c.getValue());
    }

    private static byte[] insertRecord(byte[] good, int at, int type, byte[] payload) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(good, 0, at);
        byte[] rec = ByteBuffer.allocate(12 + payload.length).putInt(type).putInt(payload.length).put(payload).putInt(0).array();
        fixChecksum(rec, 0);
        o.write(rec, 0, rec.length);
        o.write(good, at, good.length - at);
        return o.toByteArray();
    }
}
