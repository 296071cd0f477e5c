package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;

/** Records written by hand into ZooKeeper (or by a foreign or newer program): clear errors, the host goes on. */
class MalformedRecordTest {

    @TempDir
    Path dir;

    @Test
    void badRecordsAreReportedByPathAndReasonAndTheGoodOnesStillWork() throws Exception {
        try (TestingServer server = ZkServers.start(dir);
                PoolHostFixture a = new PoolHostFixture("host-a", server.getPort(), new History())) {
            a.pool.join();
            a.pool.add(LeaseTest.config("good"));
            var zk = a.client; // authenticated, as a person with the secret and zkCli would be
            zk.create().forPath("/domains/garbage", new byte[] {(byte) 0xff, 0, 1, 2});
            zk.create().forPath("/domains/empty", new byte[0]);
            zk.create().forPath("/domains/newer", json("{\"format\":\"xenj-pool-domain/2\",\"name\":\"newer\"}"));
            zk.create().forPath("/domains/misnamed", json(new String(org.xenj.pool.internal.record.Records.encodeDomain(
                    new org.xenj.pool.internal.record.DomainRecord(LeaseTest.config("other"), "", "stopped", 0)), StandardCharsets.UTF_8)));
            zk.create().forPath("/domains/badmem", json(new String(org.xenj.pool.internal.record.Records.encodeDomain(
                    new org.xenj.pool.internal.record.DomainRecord(LeaseTest.config("badmem"), "", "stopped", 0)), StandardCharsets.UTF_8)
                    .replace("\"memory\":\"64\"", "\"memory\":\"lots\"")));
            zk.create().forPath("/hosts/ghost", json("{\"format\":\"xenj-pool-host/1\",\"name\":\"ghost\",\"pcpus\":-3}"));

            assertEquals(List.of("good"), a.pool.domains().stream().map(PoolDomain::name).toList());
            assertEquals(List.of("host-a"), a.pool.hosts().stream().map(PoolHost::name).toList());
            List<String> errors = a.pool.recordErrors();
            System.out.println("MalformedRecordTest: " + String.join("\n  ", errors));
            assertEquals(6, errors.size(), errors.toString());
            assertTrue(errors.contains("/hosts/ghost: field 'address' is missing"), errors.toString());
            assertTrue(errors.contains("/domains/empty: empty record (expected xenj-pool-domain/1)"), errors.toString());
            assertTrue(errors.stream().anyMatch(e -> e.startsWith("/domains/garbage: not JSON")), errors.toString());
            assertTrue(errors.contains("/domains/newer: format 'xenj-pool-domain/2' is not xenj-pool-domain/1 (written by another xenj version)"),
                    errors.toString());
            assertTrue(errors.contains("/domains/misnamed: field 'name': 'other' is not the record's name 'misnamed'"), errors.toString());
            assertTrue(errors.contains("/domains/badmem: config key 'memory': 'lots' is not a number"), errors.toString());

            PoolException e = assertThrows(PoolException.class, () -> a.pool.start("badmem"));
            assertEquals("pool domain 'badmem': its record /domains/badmem cannot be read: config key 'memory': 'lots' is not a number", e.getMessage());
            assertEquals(null, a.hypervisor.state("badmem"));
            a.pool.start("good");
            assertEquals("running", a.pool.domains().get(0).state());
        }
    }

    private static byte[] json(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
