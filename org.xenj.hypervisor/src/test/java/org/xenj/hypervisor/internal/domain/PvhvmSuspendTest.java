package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
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
import org.xenj.hypervisor.internal.save.PvhvmSuspendState;
import org.xenj.hypervisor.internal.save.SaveFormatException;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

/**
 * Xen's suspend protocol on a small HVM guest on the IA-32 CPU that plays a PVHVM kernel's part:
 * it places the hypercall page, counts into memory, and when its "request seen" word is set (the
 * test plays manage.c's xenstore watch: it sees {@code control/shutdown = suspend}, clears the node
 * and sets the word) calls SCHEDOP_shutdown(SHUTDOWN_suspend) with {@code vmcall} and stores what
 * the call returned and how often it returned. Checked: a save suspends it, writes the
 * PVHVM_SUSPEND record and the restored domain's call returns 0; a guest that never takes the
 * request is left running with the request withdrawn; a guest suspending unasked (twice) and a
 * save that fails after the suspend both see 1 in the same domain; a damaged PVHVM_SUSPEND record
 * is refused by name with nothing created.
 */
class PvhvmSuspendTest {

    private static final int COUNTER = 0x2000, REQUEST = 0x2100, REASON = 0x2104, RESULT = 0x2108, RETURNS = 0x210c;
    private static final int HYPERCALL_PAGE = 0x3000;

    @TempDir
    Path dir;
    private TestCores.Fixture fx;

    @BeforeEach
    void start() {
        fx = TestCores.start(1);
        fx.plugins().addBuilder(new HvmGuestBuilder());
        fx.plugins().addDeviceModel(new NullModel());
        fx.core().suspend.suspendMillis = 10_000;
    }

    @AfterEach
    void stop() {
        // a crash explains itself in the test's output
        fx.core().dmesg().stream().filter(l -> l.contains("crash") || l.contains("internal error")).forEach(System.out::println);
        fx.close();
    }

    /** A device model with a one-byte state record: HVM domains need one to be built and saved. */
    static final class NullModel implements DeviceModel {
        @Override
        public String name() {
            return "null-dm";
        }

        @Override
        public boolean supports(DomainConfig config) {
            return config.type() == DomainType.HVM;
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform) {
            return attach(platform, new byte[1]);
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
            return new DeviceModelInstance() {
                @Override
                public void reset() {
                }

                @Override
                public void detach() {
                }

                @Override
                public byte[] saveState() {
                    return new byte[1];
                }
            };
        }
    }

    /** The guest's code, flat 32-bit at 0x100000 (see the class comment). */
    static byte[] guestCode() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0xB9, 0, 0, 0, 0x40}); // mov ecx, 0x40000000 (Xen's hypercall MSR)
        b.writeBytes(new byte[] {(byte) 0xB8, 0, 0x30, 0, 0}); // mov eax, 0x3000
        b.writeBytes(new byte[] {0x31, (byte) 0xD2, 0x0F, 0x30}); // xor edx, edx; wrmsr
        b.writeBytes(new byte[] {(byte) 0xC7, 0x05, 0x04, 0x21, 0, 0, 2, 0, 0, 0}); // mov dword [REASON], 2 (SHUTDOWN_suspend)
        b.writeBytes(new byte[] {(byte) 0xC7, 0x05, 0x08, 0x21, 0, 0, (byte) 0xAD, (byte) 0xDE, 0, 0}); // mov dword [RESULT], 0xdead
        b.writeBytes(new byte[] {0x31, (byte) 0xF6}); // xor esi, esi
        int loop = b.size();
        b.writeBytes(new byte[] {0x46, (byte) 0x89, 0x35, 0, 0x20, 0, 0}); // inc esi; mov [COUNTER], esi
        b.writeBytes(new byte[] {(byte) 0x83, 0x3D, 0, 0x21, 0, 0, 0}); // cmp dword [REQUEST], 0
        b.write(0x74); // je loop
        b.write(loop - (b.size() + 1));
        b.writeBytes(new byte[] {(byte) 0xC7, 0x05, 0, 0x21, 0, 0, 0, 0, 0, 0}); // mov dword [REQUEST], 0
        b.writeBytes(new byte[] {(byte) 0xB8, 29, 0, 0, 0}); // mov eax, __HYPERVISOR_sched_op
        b.writeBytes(new byte[] {(byte) 0xBB, 2, 0, 0, 0}); // mov ebx, SCHEDOP_shutdown
        b.writeBytes(new byte[] {(byte) 0xB9, 0x04, 0x21, 0, 0}); // mov ecx, REASON
        b.writeBytes(new byte[] {0x0F, 0x01, (byte) 0xC1}); // vmcall
        b.writeBytes(new byte[] {(byte) 0xA3, 0x08, 0x21, 0, 0}); // mov [RESULT], eax
        b.writeBytes(new byte[] {(byte) 0xFF, 0x05, 0x0C, 0x21, 0, 0}); // inc dword [RETURNS]
        b.write(0xEB); // jmp loop
        b.write(loop - (b.size() + 1));
        return b.toByteArray();
    }

    private Domain guest(String name) throws Exception {
        Path elf = FlatElf.write(dir.resolve(name + ".elf"), guestCode());
        Domain d = fx.core().create(DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "1",
                        // interpreted: the test writes the guest's request word from its own thread,
                        // which the translator's lockstep check (on in tests) would take for a mismatch
                        "jit", "0")).build());
        assertTrue(TestCores.await(() -> read(d.id(), COUNTER) > 1000, 10_000), "the guest counts");
        assertTrue(TestCores.await(() -> read(d.id(), RESULT) == 0xdead, 10_000), "the guest set its result word");
        return d;
    }

    private int read(int domid, int gpa) {
        DomainImpl d = fx.core().domainOrNull(domid);
        return d == null ? -1 : d.memory.read32(gpa);
    }

    private String control(int domid) {
        return PvhvmSuspend.read(fx.core().xen().store, PvhvmSuspend.node(domid));
    }

    private Thread acker(int domid, AtomicBoolean stop) {
        return acker(fx.core(), domid, stop);
    }

    /**
     * Plays manage.c on {@code core}: takes each {@code suspend} request (clears the node) and makes
     * the guest of {@link #guestCode} call the hypercall (writes its request word).
     */
    static Thread acker(HypervisorCore core, int domid, AtomicBoolean stop) {
        Thread t = new Thread(() -> {
            while (!stop.get()) {
                DomainImpl d = core.domainOrNull(domid);
                if (d == null || d.phase == DomainImpl.Phase.DYING || d.phase == DomainImpl.Phase.GONE) {
                    return; // destroyed by the save
                }
                try {
                    if ("suspend".equals(PvhvmSuspend.read(core.xen().store, PvhvmSuspend.node(domid)))) {
                        core.xen().store.write(0, PvhvmSuspend.node(domid), "");
                        d.memory.write32(REQUEST, 1);
                    }
                } catch (RuntimeException noNodeYet) { // ENOENT until the first request, or the domain going
                    // poll again
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void saveSuspendsTheGuestAndInTheRestoredDomainTheHypercallReturnsZero() throws Exception {
        Domain d = guest("pvhvm");
        AtomicBoolean stop = new AtomicBoolean();
        acker(d.id(), stop);
        Path image = dir.resolve("pvhvm.save");
        SaveInfo info;
        try {
            info = fx.core().save(d.id(), image, false);
        } catch (HypervisorException e) {
            throw new AssertionError(e.getMessage() + "\nhost log:\n" + String.join("\n", fx.core().dmesg()), e);
        } finally {
            stop.set(true);
        }
        assertTrue(info.destroyed());
        String log = String.join("\n", fx.core().dmesg());
        assertTrue(log.contains("suspended itself through Xen's protocol"), log);
        assertTrue(log.contains("PVHVM, suspended through Xen's protocol first"), log);
        assertTrue(TestCores.await(() -> fx.core().lookup(d.id()).isEmpty(), 15_000), "xl save destroys the domain");
        byte[] stream = Files.readAllBytes(image);
        assertTrue(find(stream, 34) > 0, "the image has a PVHVM_SUSPEND record");

        Domain r = fx.core().restore(image, Map.of(), true);
        assertEquals(DomainState.PAUSED, r.state());
        assertEquals(0xdead, read(r.id(), RESULT), "the guest has not returned from its suspend yet");
        int counted = read(r.id(), COUNTER);
        fx.core().unpause(r.id());
        assertTrue(TestCores.await(() -> read(r.id(), RETURNS) == 1, 15_000), "the suspend hypercall returned once");
        assertEquals(0, read(r.id(), RESULT), "SCHEDOP_shutdown(SHUTDOWN_suspend) returns 0 in the new domain");
        assertTrue(TestCores.await(() -> read(r.id(), COUNTER) > counted + 1000, 15_000), "the guest goes on counting");
        assertTrue(fx.core().domainOrNull(r.id()).guest.usesXenAbi(), "the restored guest still counts as using Xen's ABI (its hypercall page)");
        fx.core().destroy(r.id());
    }

    @Test
    void aGuestThatNeverTakesTheRequestIsLeftRunningWithTheRequestWithdrawn() throws Exception {
        Domain d = guest("deaf");
        fx.core().suspend.ackMillis = 400;
        Path image = dir.resolve("deaf.save");
        long t0 = System.nanoTime();
        HypervisorException e = assertThrows(HypervisorException.class, () -> fx.core().save(d.id(), image, false));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(e.getMessage().contains("did not take the suspend request") && e.getMessage().contains("withdrawn")
                && e.getMessage().contains("runs on"), e.getMessage());
        assertTrue(ms >= 400 && ms < 5_000, "refused after the 400 ms acknowledgement timeout: " + ms);
        assertEquals("", control(d.id()), "the request was withdrawn");
        assertFalse(Files.exists(image), "no image");
        int c = read(d.id(), COUNTER);
        assertTrue(TestCores.await(() -> read(d.id(), COUNTER) > c + 1000, 15_000), "it runs on");
        assertEquals(DomainState.RUNNING, d.state());
        fx.core().destroy(d.id());
    }

    @Test
    void aGuestSuspendingUnaskedTwiceIsResumedInPlaceWithOne() throws Exception {
        Domain d = guest("eager");
        for (int n = 1; n <= 2; n++) {
            fx.core().domainOrNull(d.id()).memory.write32(REQUEST, 1); // nobody asked
            int want = n;
            assertTrue(TestCores.await(() -> read(d.id(), RETURNS) == want, 15_000), "suspend " + n + " returned");
            assertEquals(1, read(d.id(), RESULT), "a suspend nobody asked for is cancelled: the call returns 1");
        }
        int c = read(d.id(), COUNTER);
        assertTrue(TestCores.await(() -> read(d.id(), COUNTER) > c + 1000, 15_000), "it runs on");
        assertTrue(String.join("\n", fx.core().dmesg()).contains("suspended itself without a request"));
        // and a real save after that still works (the protocol state was reset)
        AtomicBoolean stop = new AtomicBoolean();
        acker(d.id(), stop);
        try {
            SaveInfo info = fx.core().save(d.id(), dir.resolve("eager.save"), true);
            assertFalse(info.destroyed());
        } finally {
            stop.set(true);
        }
        assertEquals(DomainState.SHUTDOWN, d.state(), "save -p: left suspended (xl's 's' column)");
        assertEquals(org.xenj.hypervisor.api.ShutdownReason.SUSPEND, d.shutdownReason());
        int returns = read(d.id(), RETURNS);
        fx.core().unpause(d.id()); // xen:unpause of a domain left suspended: a cancelled suspend
        assertTrue(TestCores.await(() -> read(d.id(), RETURNS) == returns + 1, 15_000), "the suspend returned");
        assertEquals(1, read(d.id(), RESULT), "unpause after save -p resumes in place with 1");
        fx.core().destroy(d.id());
    }

    @Test
    void aSaveThatFailsAfterTheSuspendResumesTheGuestWithOne() throws Exception {
        Domain d = guest("unlucky");
        AtomicBoolean stop = new AtomicBoolean();
        acker(d.id(), stop);
        Path nowhere = dir.resolve("no-such-dir").resolve("x.save");
        try {
            HypervisorException e = assertThrows(HypervisorException.class, () -> fx.core().save(d.id(), nowhere, false));
            assertTrue(e.getMessage().contains("runs on"), e.getMessage());
        } finally {
            stop.set(true);
        }
        assertTrue(TestCores.await(() -> read(d.id(), RETURNS) == 1, 115_000), "the suspend returned; host log:\n"
                + String.join("\n", fx.core().dmesg()));
        assertEquals(1, read(d.id(), RESULT), "cancelled suspend: 1");
        int c = read(d.id(), COUNTER);
        assertTrue(TestCores.await(() -> read(d.id(), COUNTER) > c + 1000, 15_000), "it runs on");
        fx.core().destroy(d.id());
    }

    @Test
    void aDamagedPvhvmSuspendRecordIsRefusedByNameAndNothingIsCreated() throws Exception {
        Domain d = guest("damaged");
        AtomicBoolean stop = new AtomicBoolean();
        acker(d.id(), stop);
        Path image = dir.resolve("damaged.save");
        try {
            fx.core().save(d.id(), image, false);
        } finally {
            stop.set(true);
        }
        assertTrue(TestCores.await(() -> fx.core().lookup(d.id()).isEmpty(), 15_000));
        byte[] good = Files.readAllBytes(image);
        int at = find(good, 34);
        int len = ByteBuffer.wrap(good, at + 4, 4).getInt();
        int domains = fx.core().list().size();
        // layout: magic 0, version 4, vCPU 8, hypercall page 12, store port 20, console port 24, store pfn 28,
        // console pfn 36, n 44, gfns 48: each flip below makes a value the record itself refuses
        for (int off : new int[] {0, 5, 8 + 3, 12 + 7, 20, 24, 28, 44, len - 4}) {
            byte[] bad = good.clone();
            bad[at + 8 + off] ^= (byte) 0x80;
            rechecksum(bad, at);
            Path p = dir.resolve("bad-" + off + ".save");
            Files.write(p, bad);
            HypervisorException e = assertThrows(HypervisorException.class, () -> fx.core().restore(p, Map.of(), true));
            assertTrue(e.getMessage().contains("PVHVM_SUSPEND") && e.getMessage().contains("nothing was created"), e.getMessage());
            assertEquals(domains, fx.core().list().size(), "nothing created");
        }
        // a well-formed record whose ports the new domain does not have: refused before any state is applied
        byte[] moved = good.clone();
        moved[at + 8 + 27] ^= (byte) 0x80; // console port 1 -> 129 (or 2 -> 130)
        rechecksum(moved, at);
        Path mp = dir.resolve("moved.save");
        Files.write(mp, moved);
        HypervisorException me = assertThrows(HypervisorException.class, () -> fx.core().restore(mp, Map.of(), true));
        assertTrue(me.getMessage().contains("could not reconnect") && me.getMessage().contains("nothing was kept"), me.getMessage());
        assertEquals(domains, fx.core().list().size(), "the half-restored domain was destroyed");
        byte[] flipped = good.clone();
        flipped[at + 8 + 2] ^= 1; // behind the checksum
        Path p = dir.resolve("crc.save");
        Files.write(p, flipped);
        HypervisorException e = assertThrows(HypervisorException.class, () -> fx.core().restore(p, Map.of(), true));
        assertTrue(e.getMessage().contains("checksum") && e.getMessage().contains("PVHVM_SUSPEND"), e.getMessage());
        Domain r = fx.core().restore(image, Map.of(), false); // the good one still restores
        assertTrue(TestCores.await(() -> read(r.id(), RETURNS) == 1 && read(r.id(), RESULT) == 0, 15_000));
        fx.core().destroy(r.id());
    }

    @Test
    void theRecordRoundTripsAndRefusesDamage() throws Exception {
        PvhvmSuspendState s = new PvhvmSuspendState(0, 0x3000, 1, 2, 4096, 4097, new int[] {4096, 4097, 100, 0xf0000});
        assertEquals(s, PvhvmSuspendState.fromBytes(s.toBytes()));
        assertArrayEquals(s.toBytes(), PvhvmSuspendState.fromBytes(s.toBytes()).toBytes());
        for (PvhvmSuspendState bad : new PvhvmSuspendState[] {new PvhvmSuspendState(-1, 0x3000, 1, 2, 1, 2, new int[0]),
            new PvhvmSuspendState(0, 0x3004, 1, 2, 1, 2, new int[0]), new PvhvmSuspendState(0, 0x3000, 0, 2, 1, 2, new int[0]),
            new PvhvmSuspendState(0, 0x3000, 3, 3, 1, 2, new int[0]), new PvhvmSuspendState(0, 0x3000, 1, 5000, 1, 2, new int[0]),
            new PvhvmSuspendState(0, 0x3000, 1, 2, 1, 2, new int[] {7, 7}), new PvhvmSuspendState(0, 0x3000, 1, 2, 1, 2, new int[] {-3})}) {
            assertThrows(SaveFormatException.class, () -> PvhvmSuspendState.fromBytes(bad.toBytes()), bad.toString());
        }
        byte[] b = s.toBytes();
        byte[] longer = java.util.Arrays.copyOf(b, b.length + 1);
        assertThrows(SaveFormatException.class, () -> PvhvmSuspendState.fromBytes(longer), "a trailing byte");
        for (int cut = 0; cut < b.length; cut++) {
            byte[] shorter = java.util.Arrays.copyOf(b, cut);
            assertThrows(SaveFormatException.class, () -> PvhvmSuspendState.fromBytes(shorter), "cut at " + cut);
        }
        byte[] v2 = b.clone();
        v2[7] = 2;
        SaveFormatException e = assertThrows(SaveFormatException.class, () -> PvhvmSuspendState.fromBytes(v2));
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
        java.util.Random rnd = new java.util.Random(15);
        for (int i = 0; i < 5_000; i++) { // fuzz: only SaveFormatException, never anything else
            byte[] m = b.clone();
            for (int k = 0; k <= rnd.nextInt(4); k++) {
                m[rnd.nextInt(m.length)] = (byte) rnd.nextInt(256);
            }
            try {
                PvhvmSuspendState.fromBytes(m);
            } catch (SaveFormatException ok) {
                // refused with a reason
            }
        }
    }

    /**
     * A domain with Xen's ABI takes two Domain 0 ports (console, xenstore); destroying it gives them back. They leaked:
     * after about 500 such domains created and destroyed (saves, restores, refused migrations) Dom0 had no port left and
     * every new one failed to build with an index of -ENOSPC (found by PvhvmMigrationFuzzTest).
     */
    @Test
    void aDestroyedPvhvmDomainGivesDomain0sEventChannelsBack() throws Exception {
        int before = dom0Ports();
        Domain d = guest("pvhvm");
        assertEquals(before + 2, dom0Ports(), "console and xenstore");
        fx.core().destroy(d.id());
        assertTrue(TestCores.await(() -> fx.core().lookup(d.id()).isEmpty(), 10_000));
        assertEquals(before, dom0Ports(), "Dom0's ports given back");
    }

    private int dom0Ports() {
        int[] st = new int[4];
        int n = 0;
        for (int p = 1; p < org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHN_2L_PORTS; p++) {
            if (fx.core().xen().dom0Evtchn.status(p, st) == 0 && st[0] != org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_CLOSED) {
                n++;
            }
        }
        return n;
    }

    /** Offset of the first record of {@code type} in a stream (framing: u32 type, u32 length, payload, u32 CRC32C). */
    static int find(byte[] s, int type) {
        ByteBuffer b = ByteBuffer.wrap(s);
        int at = 0;
        while (at + 12 <= s.length) {
            int t = b.getInt(at), len = b.getInt(at + 4);
            if (t == type) {
                return at;
            }
            at += 12 + len;
        }
        return -1;
    }

    static void rechecksum(byte[] s, int at) {
        int len = ByteBuffer.wrap(s, at + 4, 4).getInt();
        CRC32C crc = new CRC32C();
        crc.update(s, at, 8 + len);
        ByteBuffer.wrap(s).putInt(at + 8 + len, (int) crc.getValue());
    }
}
