package org.xenj.hypervisor.internal.xenstore;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class XenStoreTest {

    private final XenStore xs = new XenStore();

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String err(Runnable r) {
        try {
            r.run();
            return "none";
        } catch (XsException e) {
            return e.errno();
        }
    }

    @Test
    void readWriteMkdirRmDirectory() {
        xs.introduceDomain(5, "guest");
        xs.write(5, 0, "data/x", b("1"));
        assertEquals("1", xs.readString(5, "/local/domain/5/data/x"));
        xs.mkdir(5, 0, "data/d/e");
        assertEquals(List.of("d", "x"), xs.directory(5, 0, "data"));
        xs.rm(5, 0, "data/d");
        assertEquals(List.of("x"), xs.directory(5, 0, "data"));
        assertEquals("ENOENT", err(() -> xs.read(5, 0, "data/d/e")));
        assertEquals("guest", xs.readString(0, "/local/domain/5/name"));
        assertEquals("EINVAL", err(() -> xs.write(5, 0, "bad//path", b(""))));
        assertEquals("EINVAL", err(() -> xs.write(5, 0, "/trailing/", b(""))));
    }

    @Test
    void domainsSeeOnlyWhatPermissionsAllow() {
        xs.introduceDomain(5, "a");
        xs.introduceDomain(6, "b");
        xs.write(5, 0, "data/secret", b("s"));
        assertEquals("EACCES", err(() -> xs.read(6, 0, "/local/domain/5/data/secret")));
        assertEquals("EACCES", err(() -> xs.write(6, 0, "/local/domain/5/data/x", b("y"))));
        assertEquals("EACCES", err(() -> xs.write(6, 0, "/tool/x", b("y"))));
        xs.setPerms(5, 0, "data/secret", List.of("n5", "r6"));
        assertEquals("s", new String(xs.read(6, 0, "/local/domain/5/data/secret")));
        assertEquals("EACCES", err(() -> xs.write(6, 0, "/local/domain/5/data/secret", b("z"))));
        assertEquals(List.of("n5", "r6"), xs.getPerms(5, 0, "data/secret"));
        assertEquals("EACCES", err(() -> xs.setPerms(6, 0, "/local/domain/5/data/secret", List.of("b6"))));
        assertEquals("EINVAL", err(() -> xs.setPerms(5, 0, "data/secret", List.of("x5"))));
    }

    @Test
    void watchesFireOnceAtRegistrationAndOnChangesBelow() {
        xs.introduceDomain(5, "a");
        List<String> events = new ArrayList<>();
        Object conn = new Object();
        xs.watch(5, conn, "device", "tok", (p, t) -> events.add(p + "|" + t));
        assertEquals(List.of("device|tok"), events);
        xs.write(0, "/local/domain/5/device/vif/0/state", "1");
        assertTrue(events.contains("device/vif/0/state|tok"), events.toString());
        events.clear();
        xs.write(0, "/local/domain/5/data/other", "1");
        assertTrue(events.isEmpty());
        xs.rm(0, 0, "/local/domain/5/device");
        assertEquals(List.of("device|tok"), events);
        xs.unwatch(5, conn, "device", "tok");
        assertEquals("ENOENT", err(() -> xs.unwatch(5, conn, "device", "tok")));
    }

    @Test
    void transactionConflictIsEagainAndCommitAppliesAtomically() {
        xs.introduceDomain(5, "a");
        xs.write(5, 0, "data/n", b("1"));
        int t1 = xs.transactionStart(5);
        assertEquals("1", new String(xs.read(5, t1, "data/n")));
        xs.write(5, t1, "data/n", b("2"));
        xs.write(5, t1, "data/m", b("3"));
        assertEquals("1", xs.readString(5, "data/n"), "not visible before commit");
        xs.transactionEnd(5, t1, true);
        assertEquals("2", xs.readString(5, "data/n"));
        assertEquals("3", xs.readString(5, "data/m"));

        int t2 = xs.transactionStart(5);
        xs.read(5, t2, "data/n");
        xs.write(5, t2, "data/m", b("4"));
        xs.write(0, "/local/domain/5/data/n", "changed meanwhile");
        assertEquals("EAGAIN", err(() -> xs.transactionEnd(5, t2, true)));
        assertEquals("3", xs.readString(5, "data/m"), "a failed transaction changes nothing");
        assertEquals("ENOENT", err(() -> xs.read(5, 77, "data/n")), "unknown transaction");

        int t3 = xs.transactionStart(5);
        xs.write(5, t3, "data/q", b("x"));
        xs.transactionEnd(5, t3, false);
        assertEquals("ENOENT", err(() -> xs.read(5, 0, "data/q")));
    }

    @Test
    void quotasBoundNodesValuesWatchesAndTransactions() {
        xs.introduceDomain(5, "a");
        assertEquals("ENOSPC", err(() -> xs.write(5, 0, "data/big", new byte[XenStore.MAX_VALUE + 1])));
        String e = "none";
        for (int i = 0; i < XenStore.MAX_NODES_PER_DOMAIN + 5 && e.equals("none"); i++) {
            int k = i;
            e = err(() -> xs.write(5, 0, "data/n" + k, b("v")));
        }
        assertEquals("ENOSPC", e);
        for (int i = 0; i < XenStore.MAX_TRANSACTIONS_PER_DOMAIN; i++) {
            xs.transactionStart(5);
        }
        assertEquals("ENOSPC", err(() -> xs.transactionStart(5)));
        Object conn = new Object();
        for (int i = 0; i < XenStore.MAX_WATCHES_PER_DOMAIN; i++) {
            xs.watch(5, conn, "data", "t" + i, (p, t) -> { });
        }
        assertEquals("ENOSPC", err(() -> xs.watch(5, conn, "data", "over", (p, t) -> { })));
    }

    @Test
    void releaseRemovesTheDomainAndFiresReleaseDomain() {
        List<String> ev = new ArrayList<>();
        xs.watch(0, this, "@releaseDomain", "r", (p, t) -> ev.add(p));
        xs.introduceDomain(5, "a");
        xs.releaseDomain(5);
        assertFalse(xs.exists("/local/domain/5"));
        assertEquals(List.of("@releaseDomain", "@releaseDomain"), ev);
    }
}
