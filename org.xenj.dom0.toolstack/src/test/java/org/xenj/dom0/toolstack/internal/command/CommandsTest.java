package org.xenj.dom0.toolstack.internal.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.toolstack.internal.xlcfg.XlConfigException;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.HypervisorException;

class CommandsTest {

    @TempDir
    Path dir;

    StubHypervisor hv;
    ByteArrayOutputStream bytes;

    @BeforeEach
    void setUp() {
        hv = new StubHypervisor();
        bytes = new ByteArrayOutputStream();
    }

    private <T extends XenCommand> T wire(T c) {
        c.hypervisor = hv;
        c.out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        return c;
    }

    private String output() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private String exec(XenCommand c) throws Exception {
        wire(c).execute();
        return output();
    }

    /** The table rows of the output, each cell trimmed and joined by one tab: padding-independent. */
    private String rows() {
        StringBuilder sb = new StringBuilder();
        for (String line : output().split("\n")) {
            String[] cells = line.split("[\t|\u2502]");
            for (int i = 0; i < cells.length; i++) {
                sb.append(i == 0 ? "" : "\t").append(cells[i].trim());
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private void addWorkload(String name) {
        hv.create(org.xenj.hypervisor.api.DomainConfig.builder(name).type(org.xenj.hypervisor.api.DomainType.WORKLOAD).memoryMiB(64).build());
        hv.calls.clear();
    }

    @Test
    void listPrintsXlColumnsAndDomain0First() throws Exception {
        addWorkload("w1");
        exec(new ListCommand());
        String[] lines = rows().split("\n");
        assertEquals("Name\tID\tMem\tVCPUs\tState\tTime(s)", lines[0]);
        assertEquals("Domain-0\t0\t1024\t2\tr-----\t12.3", lines[2]);
        assertEquals("w1\t1\t64\t1\tr-----\t0.0", lines[3]);
    }

    @Test
    void listNoFormatIsTabSeparated() throws Exception {
        ListCommand c = new ListCommand();
        c.noFormat = true;
        String out = exec(c);
        assertFalse(out.contains("|") || out.contains("\u2502"), out);
        assertTrue(rows().contains("Domain-0\t0\t1024\t2\tr-----\t12.3"), out);
    }

    @Test
    void listLongIsJsonWithConfig() throws Exception {
        addWorkload("w1");
        ListCommand c = new ListCommand();
        c.longFormat = true;
        c.domains = List.of("w1");
        String out = exec(c);
        assertTrue(out.trim().startsWith("["), out);
        assertTrue(out.contains("\"name\": \"w1\""), out);
        assertTrue(out.contains("\"domid\": 1"), out);
        assertTrue(out.contains("\"type\": \"workload\""), out);
        assertFalse(out.contains("Domain-0"), out);
    }

    @Test
    void listOfUnknownDomainFails() {
        ListCommand c = wire(new ListCommand());
        c.domains = List.of("nope");
        HypervisorException e = assertThrows(HypervisorException.class, c::execute);
        assertEquals("no domain 'nope'", e.getMessage());
    }

    @Test
    void createFromFileWithOverride() throws Exception {
        Path cfg = dir.resolve("w.cfg");
        Files.writeString(cfg, "name = 'spin1'\ntype = 'workload'\nworkload = 'spin'\nmemory = 32\n");
        CreateCommand c = new CreateCommand();
        c.file = cfg.toString();
        c.overrides = List.of("name=spin2");
        String out = exec(c);
        assertEquals(List.of("create spin2"), hv.calls);
        assertEquals("Created domain spin2 (id 1)\n", out);
        assertEquals(32L * 1024, hv.lookup("spin2").orElseThrow().memoryKiB());
    }

    @Test
    void createPausedAndFromOverridesAlone() throws Exception {
        CreateCommand c = new CreateCommand();
        c.file = "name=p1";
        c.overrides = List.of("type=workload");
        c.paused = true;
        exec(c);
        assertEquals(DomainState.PAUSED, hv.lookup("p1").orElseThrow().state());
    }

    @Test
    void createDryRunPrintsJsonAndCreatesNothing() throws Exception {
        Path cfg = dir.resolve("w.cfg");
        Files.writeString(cfg, "name = 'dry'\nvcpus = 2\ndisk = ['/img/a.qcow2,qcow2,xvda,rw,backendtype=qdisk', '/x.iso,,hdc,cdrom']\n");
        CreateCommand c = new CreateCommand();
        c.file = cfg.toString();
        c.dryRun = true;
        String out = exec(c);
        assertTrue(hv.calls.isEmpty());
        assertTrue(out.contains("\"vcpus\": 2"), out);
        assertTrue(out.contains("\"name\": \"dry\""), out);
        assertTrue(out.startsWith("note: " + cfg + ":3: key 'disk': disk 1: backendtype=qdisk ignored: xenj serves every disk "
                + "from its own block layer\n"), out);
        String compact = out.replaceAll("\\s+", "");
        assertTrue(compact.contains("{\"target\":\"/img/a.qcow2\",\"format\":\"qcow2\",\"vdev\":\"xvda\",\"access\":\"rw\","
                + "\"devtype\":\"disk\",\"devid\":51712}"), out);
        assertTrue(compact.contains("{\"target\":\"/x.iso\",\"format\":\"raw\",\"vdev\":\"hdc\",\"access\":\"ro\","
                + "\"devtype\":\"cdrom\",\"devid\":5632}"), out);
    }

    @Test
    void createWithBadFileNamesFileLineKeyAndChangesNothing() throws Exception {
        Path cfg = dir.resolve("bad.cfg");
        Files.writeString(cfg, "name = 'bad'\nvcpus = 2\nmemory = 'lots'\n");
        CreateCommand c = wire(new CreateCommand());
        c.file = cfg.toString();
        XlConfigException e = assertThrows(XlConfigException.class, c::execute);
        assertEquals(cfg + ":3: key 'memory': expected a number of MiB, got \"lots\"", e.getMessage());
        assertTrue(hv.calls.isEmpty());
        assertEquals(1, hv.list().size());
    }

    @Test
    void saveAndRestoreAreThinCallsWithXlOptions() throws Exception {
        addWorkload("w1");
        SaveCommand s = new SaveCommand();
        s.domain = "w1";
        s.file = "/tmp/w1.save";
        s.leavePaused = true;
        assertEquals("Saved domain w1 (id 1) to /tmp/w1.save: 4096 bytes, 3 pages + 5 zero pages, paused 12.3 ms; domain left paused\n",
                exec(s));
        assertEquals(List.of("save 1 /tmp/w1.save true"), hv.calls);
        hv.calls.clear();
        bytes.reset();
        RestoreCommand r = new RestoreCommand();
        r.file = "/tmp/w1.save";
        r.overrides = List.of("name=w2", "cap=50");
        r.paused = true;
        assertEquals("Restored domain w2 (id 2), paused\n", exec(r));
        assertEquals("restore /tmp/w1.save {cap=50, name=w2} true", hv.calls.get(0));
        RestoreCommand bad = new RestoreCommand();
        bad.file = "/tmp/w1.save";
        bad.overrides = List.of("oops");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> exec(bad));
        assertTrue(e.getMessage().contains("is not key=value"), e.getMessage());
    }

    @Test
    void snapshotCommandsAreThinCallsAndTheListIsATree() throws Exception {
        addWorkload("w1");
        SnapshotCreateCommand c = new SnapshotCreateCommand();
        c.domain = "w1";
        c.name = "b";
        assertEquals("Snapshot 'b' of domain w1 (id 1): 30.0 KiB, paused 4.2 ms, parent 'a'\n", exec(c));
        bytes.reset();
        SnapshotRevertCommand r = new SnapshotRevertCommand();
        r.domain = "1";
        r.name = "b";
        // w1 has no acpi=1: no VM Generation ID device, so the revert says what that leaves in the guest
        assertEquals("Domain w1 (id 1) reverted to snapshot 'b', paused 6.6 ms\nWarning: " + Domain.NO_GENERATION_ID_WARNING + "\n",
                exec(r));
        SnapshotRevertCommand bad = new SnapshotRevertCommand();
        bad.domain = "w1";
        bad.name = "nope";
        org.xenj.hypervisor.api.HypervisorException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.xenj.hypervisor.api.HypervisorException.class, () -> exec(bad));
        assertTrue(e.getMessage().contains("no snapshot named 'nope'"), e.getMessage());
        bytes.reset();
        SnapshotDeleteCommand del = new SnapshotDeleteCommand();
        del.domain = "w1";
        del.name = "a";
        assertEquals("Snapshot 'a' of domain w1 (id 1) deleted\n", exec(del));
        bytes.reset();
        CloneCommand cl = new CloneCommand();
        cl.source = "w1/b";
        cl.newName = "w2";
        assertTrue(exec(cl).startsWith("Cloned domain w1 (id 1) snapshot 'b' as w2 (id 2) in "), output());
        assertTrue(output().endsWith(" ms\nWarning: " + Domain.NO_GENERATION_ID_WARNING + "\n"), output());
        bytes.reset();
        CloneCommand live = new CloneCommand();
        live.source = "w1";
        live.newName = "w3";
        assertTrue(exec(live).startsWith("Cloned domain w1 (id 1) as w3 (id 3) in "), output());
        assertEquals(List.of("snapshot-create 1 b", "snapshot-revert 1 b", "snapshot-revert 1 nope", "snapshot-delete 1 a",
                "clone 1 b w2", "create w2", "clone 1 null w3", "create w3"), hv.calls);
        // an HVM domain with acpi=1 has the device: its clone is told, so no warning
        Domain h = hv.create(org.xenj.hypervisor.api.DomainConfig.builder("h1").type(org.xenj.hypervisor.api.DomainType.HVM).memoryMiB(64)
                .raw(java.util.Map.of("acpi", "1")).build());
        bytes.reset();
        CloneCommand told = new CloneCommand();
        told.source = "h1";
        told.newName = "h2";
        assertTrue(exec(told).startsWith("Cloned domain h1 (id " + h.id() + ") as h2 ") && !output().contains("Warning"), output());

        long t = java.time.LocalDateTime.of(2026, 12, 6, 8, 0, 0).toInstant(java.time.ZoneOffset.UTC).toEpochMilli();
        hv.snapshots.put(1, List.of(snap("a", null, false, t, 10_000), snap("b", "a", false, t + 1000, 2_000_000),
                snap("c", "b", true, t + 2000, 30_000), snap("d", "a", false, t + 3000, 400), snap("e", null, false, t + 4000, 20_000_000)));
        bytes.reset();
        SnapshotListCommand l = new SnapshotListCommand();
        l.domain = "w1";
        l.zone = java.time.ZoneOffset.UTC;
        assertEquals("""
                Name       Created                Guest time        Size
                a          2026-12-06 08:00:00       1.000 s     10000 B
                +- b       2026-12-06 08:00:01       1.000 s  1953.1 KiB
                |  +- c *  2026-12-06 08:00:02       1.000 s    29.3 KiB
                +- d       2026-12-06 08:00:03       1.000 s       400 B
                e          2026-12-06 08:00:04       1.000 s    19.1 MiB
                current: c
                """, exec(l));
        bytes.reset();
        SnapshotListCommand none = new SnapshotListCommand();
        none.domain = "w3";
        assertEquals("no snapshots\n", exec(none));
    }

    private static org.xenj.hypervisor.api.SnapshotInfo snap(String name, String parent, boolean current, long created, long bytes) {
        return new org.xenj.hypervisor.api.SnapshotInfo("w1", name, parent, current, created, 1_000_000_000L, bytes, 0, "/s/" + name);
    }

    @Test
    void migrateIsAThinCallWithXlsHostAndPort() throws Exception {
        addWorkload("w1");
        MigrateCommand m = new MigrateCommand();
        m.domain = "w1";
        m.host = "localhost";
        assertEquals("""
                  round 1: 4096 pages sent so far, 300 dirtied meanwhile, 81.9 MB/s, expected downtime 15.0 ms
                  round 2: 4396 pages sent so far, 20 dirtied meanwhile, 81.9 MB/s, expected downtime 1.0 ms
                  stop: asking the guest to suspend itself (control/shutdown = suspend)
                  stop: the guest suspended itself in 12.5 ms
                  stop: paused, last 20 pages and the state sent (30.3 ms so far)
                  resumed at the destination: 4416 pages sent, downtime 61.5 ms
                Migrated domain w1 (id 1) to localhost:8002 (id 7 there): 4416 pages sent (20 in the pause), 2.5 MB, downtime 61.5 ms, total 120.0 ms
                """, exec(m));
        assertEquals(List.of("migrate 1 localhost 8002 true 100 30"), hv.calls);
        hv.calls.clear();
        addWorkload("w2");
        MigrateCommand n = new MigrateCommand();
        n.domain = "w2";
        n.host = "10.0.0.2:9000";
        n.nonLive = true;
        n.downtimeMillis = 50;
        n.rounds = 5;
        exec(n);
        assertEquals(List.of("migrate 2 10.0.0.2 9000 false 50 5"), hv.calls);
        MigrateCommand bad = new MigrateCommand();
        bad.domain = "w1";
        bad.host = "h:x";
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> exec(bad));
        assertTrue(e.getMessage().contains("not a port"), e.getMessage());
    }

    @Test
    void lifecycleCommandsResolveNamesAndIds() throws Exception {
        addWorkload("w1");
        PauseCommand p = new PauseCommand();
        p.domain = "w1";
        exec(p);
        UnpauseCommand u = new UnpauseCommand();
        u.domain = "1";
        exec(u);
        RebootCommand r = new RebootCommand();
        r.domain = "w1";
        exec(r);
        ShutdownCommand s = new ShutdownCommand();
        s.domain = "w1";
        exec(s);
        DestroyCommand d = new DestroyCommand();
        d.domain = "w1";
        exec(d);
        assertEquals(List.of("pause 1", "unpause 1", "reboot 1", "shutdown 1 POWEROFF", "destroy 1"), hv.calls);
    }

    @Test
    void domain0CannotBeDestroyed() {
        DestroyCommand d = wire(new DestroyCommand());
        d.domain = "Domain-0";
        assertThrows(IllegalArgumentException.class, d::execute);
        assertTrue(hv.calls.isEmpty());
    }

    @Test
    void infoPrintsKeyValueLines() throws Exception {
        String out = exec(new InfoCommand());
        assertTrue(out.contains("nr_cpus               : 4"), out);
        assertTrue(out.contains("total_memory          : 2048"), out);
        assertTrue(out.contains("free_memory           : 1024"), out);
        assertTrue(out.contains("schedulers            : credit rr"), out);
    }

    @Test
    void dmesgPrintsAndClears() throws Exception {
        DmesgCommand c = new DmesgCommand();
        c.clear = true;
        String out = exec(c);
        assertEquals("(XEN) xenj starting\n(XEN) Domain-0 created\n", out);
        assertEquals(List.of("clearDmesg"), hv.calls);
        assertTrue(hv.dmesg().isEmpty());
    }

    @Test
    void debugKeysGoToTheHypervisor() throws Exception {
        DebugKeysCommand c = new DebugKeysCommand();
        c.keys = "dq";
        assertEquals("", exec(c));
        assertEquals(List.of("debugKeys dq"), hv.calls);
    }

    @Test
    void vcpuListAndPin() throws Exception {
        VcpuListCommand l = new VcpuListCommand();
        l.noFormat = true;
        l.domains = List.of("Domain-0");
        String out = exec(l);
        assertTrue(rows().contains("Domain-0\t0\t0\t1\tr--\t2.5\tall"), out);
        assertTrue(rows().contains("Domain-0\t0\t1\t-\t-b-\t2.5\tall"), out);
        VcpuPinCommand p = new VcpuPinCommand();
        p.domain = "Domain-0";
        p.vcpu = "all";
        p.cpus = "1-2";
        exec(p);
        assertEquals(List.of("pin 0 0 1,2", "pin 0 1 1,2"), hv.calls);
        VcpuPinCommand bad = wire(new VcpuPinCommand());
        bad.domain = "Domain-0";
        bad.vcpu = "7";
        bad.cpus = "1";
        assertThrows(IllegalArgumentException.class, bad::execute);
    }

    @Test
    void schedCreditSetsDomainAndPoolParameters() throws Exception {
        addWorkload("w1");
        SchedCreditCommand c = new SchedCreditCommand();
        c.domain = "w1";
        c.weight = 512;
        c.cap = 50;
        exec(c);
        SchedCreditCommand p = new SchedCreditCommand();
        p.pool = "Pool-0";
        p.tslice = 10;
        exec(p);
        assertEquals(List.of("domain-params 1 {cap=50, weight=512}", "pool-params Pool-0 {tslice_ms=10}"), hv.calls);
    }

    @Test
    void schedCreditListsDomainsOfCreditPools() throws Exception {
        addWorkload("w1");
        hv.domainParams.put(1, java.util.Map.of("weight", "512", "cap", "0"));
        SchedCreditCommand c = new SchedCreditCommand();
        c.noFormat = true;
        String out = exec(c);
        assertTrue(out.startsWith("Cpupool Pool-0: tslice=30ms ratelimit=1000us\n"), out);
        assertTrue(rows().contains("w1\t1\t512\t0"), out);
    }

    @Test
    void schedCreditRefusesBadWeightAndWeightWithoutDomain() {
        SchedCreditCommand noDomain = wire(new SchedCreditCommand());
        noDomain.weight = 5;
        assertThrows(IllegalArgumentException.class, noDomain::execute);
        SchedCreditCommand bad = wire(new SchedCreditCommand());
        bad.domain = "Domain-0";
        bad.weight = 0;
        assertThrows(IllegalArgumentException.class, bad::execute);
        assertTrue(hv.calls.isEmpty());
    }

    @Test
    void schedRrSetsSlice() throws Exception {
        SchedRrCommand c = new SchedRrCommand();
        c.pool = "fast";
        c.slice = 5;
        exec(c);
        assertEquals(List.of("pool-params fast {slice_ms=5}"), hv.calls);
    }

    @Test
    void cpupoolCreateFromKeyValuesAndFromFile() throws Exception {
        CpupoolCreateCommand c = new CpupoolCreateCommand();
        c.args = List.of("name=fast", "sched=rr", "cpus=2-3");
        String out = exec(c);
        assertEquals(List.of("cpupool-create fast rr 2,3"), hv.calls);
        assertTrue(out.contains("Created cpupool fast"), out);

        Path cfg = dir.resolve("pool.cfg");
        Files.writeString(cfg, "name = \"slow\"\nsched = \"credit\"\ncpus = [\"1\"]\n");
        CpupoolCreateCommand f = new CpupoolCreateCommand();
        f.args = List.of(cfg.toString());
        exec(f);
        assertEquals("cpupool-create slow credit 1", hv.calls.get(1));
    }

    @Test
    void cpupoolCreateWithNrCpusTakesFromTheEndOfPool0() throws Exception {
        CpupoolCreateCommand c = new CpupoolCreateCommand();
        c.args = List.of("name=p", "nr_cpus=2");
        exec(c);
        assertEquals(List.of("cpupool-create p credit 2,3"), hv.calls);
        CpupoolCreateCommand tooMany = wire(new CpupoolCreateCommand());
        tooMany.args = List.of("name=q", "nr_cpus=4");
        assertThrows(XlConfigException.class, tooMany::execute);
    }

    @Test
    void cpupoolCreateRefusesMissingNameAndBadCpus() {
        CpupoolCreateCommand noName = wire(new CpupoolCreateCommand());
        noName.args = List.of("cpus=1");
        assertEquals("name", assertThrows(XlConfigException.class, noName::execute).key());
        CpupoolCreateCommand badCpus = wire(new CpupoolCreateCommand());
        badCpus.args = List.of("name=x", "cpus=one");
        assertEquals("cpus", assertThrows(XlConfigException.class, badCpus::execute).key());
        assertTrue(hv.calls.isEmpty());
    }

    @Test
    void cpupoolListMigrateSchedDestroy() throws Exception {
        addWorkload("w1");
        CpupoolListCommand l = new CpupoolListCommand();
        l.noFormat = true;
        String out = exec(l);
        assertTrue(rows().contains("Pool-0\t4\tcredit\ty\t1"), out);
        CpupoolMigrateCommand m = new CpupoolMigrateCommand();
        m.domain = "w1";
        m.pool = "fast";
        exec(m);
        CpupoolSchedCommand s = new CpupoolSchedCommand();
        s.pool = "Pool-0";
        s.scheduler = "rr";
        exec(s);
        CpupoolDestroyCommand d = new CpupoolDestroyCommand();
        d.pool = "fast";
        exec(d);
        assertEquals(List.of("migrate 1 fast", "sched Pool-0 rr", "cpupool-destroy fast"), hv.calls);
        CpupoolDestroyCommand pool0 = wire(new CpupoolDestroyCommand());
        pool0.pool = "Pool-0";
        assertThrows(IllegalArgumentException.class, pool0::execute);
    }

    @Test
    void topBatchPrintsOneTablePerIteration() throws Exception {
        TopCommand t = new TopCommand();
        t.batch = true;
        t.iterations = 2;
        t.delaySeconds = 0.1;
        String out = exec(t);
        assertEquals(2, out.split("xentop - ", -1).length - 1, out);
        assertTrue(out.contains("1 domains: 1 running"), out);
        assertTrue(out.contains("NAME"), out);
        assertTrue(out.contains("Domain-0"), out);
    }

    @Test
    void formatsCpuLists() {
        assertEquals("0-2,5", Formats.cpuList(new int[] {5, 0, 1, 2}));
        assertEquals("all", Formats.cpuList(new int[0]));
        assertEquals("1,2,3,7", Formats.join(Formats.parseCpuList("1-3,7")));
        assertEquals(0, Formats.parseCpuList("all").length);
        assertThrows(IllegalArgumentException.class, () -> Formats.parseCpuList("3-1"));
        assertThrows(IllegalArgumentException.class, () -> Formats.parseCpuList("x"));
        assertEquals("--p---", Formats.stateFlags(DomainState.PAUSED));
        assertEquals("-----d", Formats.stateFlags(DomainState.DYING));
    }
}
