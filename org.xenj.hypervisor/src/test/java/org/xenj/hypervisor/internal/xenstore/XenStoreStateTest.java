package org.xenj.hypervisor.internal.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.platform.StateFuzz;

/**
 * {@link XenStoreState}: a store with two domains' homes, device directories with permissions,
 * binary values and relative and absolute watches round-trips through bytes and into a fresh
 * store, which then answers, checks permissions and fires watches as the first; a save with a
 * transaction open is refused; damaged records are refused with the reason, thousands of mutated
 * ones refused or restored exactly.
 */
class XenStoreStateTest {

    static final Object CONN1 = new Object(), CONN0 = new Object();

    static XenStore running(SplittableRandom r, List<String> events) {
        XenStore xs = new XenStore();
        xs.introduceDomain(1, "guest");
        xs.introduceDomain(2, "other");
        xs.write(0, "/local/domain/0/backend/vbd/1/51712/state", "4");
        xs.setPerms(0, 0, "/local/domain/0/backend/vbd/1/51712", List.of("n0", "r1"));
        xs.setPerms(0, 0, "/local/domain/0/backend/vbd/1/51712/state", List.of("n0", "r1"));
        xs.write(1, 0, "device/vbd/51712/ring-ref", "8".getBytes(StandardCharsets.US_ASCII));
        xs.write(1, 0, "data/blob", new byte[] {0, 1, (byte) 0xff, 10});
        for (int i = 0; i < r.nextInt(30); i++) {
            xs.write(2, 0, "data/k" + r.nextInt(100), Integer.toString(r.nextInt()).getBytes(StandardCharsets.US_ASCII));
        }
        xs.watch(1, CONN1, "device", "tok-rel", (p, t) -> events.add("d1 " + p + " " + t));
        xs.watch(0, CONN0, "/local/domain/1/device", "tok-abs", (p, t) -> events.add("d0 " + p + " " + t));
        xs.watch(0, CONN0, "@releaseDomain", "rel", (p, t) -> events.add("d0 " + p + " " + t));
        return xs;
    }

    static XenStore.WatchOwner owner(int domid, List<String> events) {
        return new XenStore.WatchOwner(domid == 0 ? CONN0 : CONN1, (p, t) -> events.add("d" + domid + " " + p + " " + t));
    }

    @Test
    void aStoreRoundTripsThroughBytesAndAFreshStoreBehavesTheSame() throws IOException {
        List<String> before = new ArrayList<>(), after = new ArrayList<>();
        XenStore a = running(new SplittableRandom(1), before);
        XenStoreState s = a.saveState();
        assertEquals(3, s.watches().size());
        assertEquals(s, XenStoreState.fromBytes(s.toBytes()));
        XenStore b = new XenStore();
        b.restoreState(XenStoreState.fromBytes(s.toBytes()), d -> owner(d, after));
        assertEquals(s, b.saveState(), "the restored store holds exactly the record");
        assertTrue(after.isEmpty(), "restored watches do not fire again");
        assertEquals("4", b.readString(1, "/local/domain/0/backend/vbd/1/51712/state"), "d1 may read its backend's state");
        assertThrows(XsException.class, () -> b.readString(2, "/local/domain/0/backend/vbd/1/51712/state"), "d2 may not");
        assertThrows(XsException.class, () -> b.read(2, 0, "/local/domain/1/data/blob"));
        assertTrue(Arrays.equals(new byte[] {0, 1, (byte) 0xff, 10}, b.read(1, 0, "data/blob")));
        a.write(1, 0, "device/vbd/51712/state", "3".getBytes(StandardCharsets.US_ASCII));
        b.write(1, 0, "device/vbd/51712/state", "3".getBytes(StandardCharsets.US_ASCII));
        before.removeIf(e -> e.endsWith("tok-rel") && e.contains(" device ") || e.endsWith("tok-abs") && e.endsWith("device tok-abs")
                || e.startsWith("d0 @releaseDomain"));
        assertEquals(before, after, "the restored watches fire as the originals (relative paths stay relative)");
        assertTrue(after.contains("d1 device/vbd/51712/state tok-rel"), after.toString());
    }

    @Test
    void aSaveWithATransactionOpenIsRefusedAndDamagedRecordsToo() throws IOException {
        XenStore a = running(new SplittableRandom(2), new ArrayList<>());
        int tx = a.transactionStart(1);
        IllegalStateException e = assertThrows(IllegalStateException.class, a::saveState);
        assertTrue(e.getMessage().contains("1 transaction(s) open"), e.getMessage());
        a.transactionEnd(1, tx, false);
        byte[] good = a.saveState().toBytes();
        byte[] magic = good.clone();
        magic[2] = 0;
        assertTrue(assertThrows(IOException.class, () -> XenStoreState.fromBytes(magic)).getMessage().contains("not a xenstore"));
        byte[] version = good.clone();
        version[7] = 7;
        assertTrue(assertThrows(IOException.class, () -> XenStoreState.fromBytes(version)).getMessage().contains("version 7"));
        assertThrows(IOException.class, () -> XenStoreState.fromBytes(Arrays.copyOf(good, good.length - 2)));
        XenStoreState.Node root = new XenStoreState.Node("/", new byte[0], List.of("n0"), 1);
        assertThrows(IllegalArgumentException.class, () -> new XenStoreState(5, List.of(root,
                new XenStoreState.Node("/a/b", new byte[0], List.of("n0"), 1)), List.of()), "a node before its parent");
        assertThrows(IllegalArgumentException.class, () -> new XenStoreState.Node("/a//b", new byte[0], List.of("n0"), 1));
        assertThrows(IllegalArgumentException.class, () -> new XenStoreState.Node("/a", new byte[0], List.of("x0"), 1),
                "a permission letter xenstore does not know");
        assertThrows(IllegalArgumentException.class, () -> new XenStoreState(5, List.of(root), List.of(
                new XenStoreState.WatchRecord(1, "/local/domain/2/x", "t", true))), "relative to another domain's home");
        assertThrows(IllegalArgumentException.class, () -> new XenStoreState(1, List.of(
                new XenStoreState.Node("/", new byte[0], List.of("n0"), 9)), List.of()), "a node newer than the store");
    }

    @Test
    void mutatedRecordsAreRefusedOrRestoredExactly() {
        List<byte[]> goods = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            goods.add(running(new SplittableRandom(10 + i), new ArrayList<>()).saveState().toBytes());
        }
        StateFuzz.run("xenstore", 0x757, 5_000, goods, XenStoreState::fromBytes, (s, r) -> {
            List<String> events = new ArrayList<>();
            XenStore b = new XenStore();
            b.restoreState(s, d -> owner(d, events));
            assertEquals(s, b.saveState(), "the restored store holds exactly the record");
            // and it is usable: a guest writes in its home, Domain 0 lists and removes
            try {
                b.write(1, 0, "data/after", new byte[] {1});
            } catch (XsException e) {
                assertTrue(e.errno().startsWith("E"), e.errno());
            }
            b.directory(0, 0, "/");
            b.rm(0, 0, "/local");
        });
    }
}
