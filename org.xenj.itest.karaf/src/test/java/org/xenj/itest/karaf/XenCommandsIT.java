package org.xenj.itest.karaf;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.inject.Inject;

import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.LogLevelOption.LogLevel;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.xenj.hypervisor.api.Hypervisor;

/**
 * Boots the reactor's xenj assembly and drives the {@code xen:} commands through Karaf's own
 * shell sessions, as a user at the console would.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class XenCommandsIT {

    private static volatile boolean startReported;

    @Inject
    SessionFactory sessionFactory;

    /** Waits for the hypervisor before any test runs. */
    @Inject
    Hypervisor hypervisor;

    @Configuration
    public Option[] config() throws IOException {
        File assembly = new File(System.getProperty("xenj.assembly", "../xenj-assembly/target/xenj-assembly-0.1.0-SNAPSHOT.tar.gz"));
        if (!assembly.isFile()) {
            throw new IllegalStateException("no assembly at " + assembly + ": build xenj-assembly first");
        }
        String target = System.getProperty("project.build.directory", "target");
        return new Option[] {
            karafDistributionConfiguration()
                .frameworkUrl(assembly.toURI().toString())
                .unpackDirectory(new File(target, "pax-exam"))
                .name("xenj")
                .useDeployFolder(false),
            configureConsole().ignoreLocalConsole(),
            logLevel(LogLevel.WARN),
            // Never collide with a running ./xenj (8101) or another test run.
            editConfigurationFilePut("etc/org.apache.karaf.shell.cfg", "sshPort", Integer.toString(freePort())),
            editConfigurationFilePut("etc/org.xenj.hypervisor.cfg", "xenj.memory", "512M"),
            editConfigurationFilePut("etc/org.xenj.hypervisor.cfg", "xenj.dom0.memory", "64M"),
            editConfigurationFilePut("etc/org.xenj.hypervisor.cfg", "xenj.pcpus", "2"),
            // the embedded ZooKeeper of the pool on a free port, not a running xenj's 2181
            editConfigurationFilePut("etc/org.xenj.pool.cfg", "xenj.pool.port", Integer.toString(freePort())),
            editConfigurationFilePut("etc/org.xenj.pool.cfg", "xenj.pool.host", "it-host"),
        };
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Runs one console command line; returns what it printed, or throws what it threw. */
    private String run(String command) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Session session = sessionFactory.create(new ByteArrayInputStream(new byte[0]), out, out);
        try {
            session.execute(command);
        } finally {
            session.close();
        }
        out.flush();
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private String runFailing(String command) throws Exception {
        try {
            run(command);
        } catch (Exception expected) {
            return expected.getMessage();
        }
        fail(command + " should have failed");
        return null;
    }

    /** Karaf start (JVM start) → first xen:list that succeeds, printed once for the notes. */
    private void reportStartToFirstList() throws Exception {
        if (startReported) {
            return;
        }
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            try {
                run("xen:list");
                break;
            } catch (Exception notYet) {
                if (System.currentTimeMillis() > deadline) {
                    throw notYet;
                }
                Thread.sleep(100);
            }
        }
        long ms = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
        System.out.printf("xenj itest: Karaf start -> first successful xen:list = %.1f s%n", ms / 1000.0);
        startReported = true;
    }

    private static Path cfg(String name, String text) throws IOException {
        Path dir = Files.createTempDirectory("xenj-itest");
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    private static String row(String table, String name) {
        for (String line : table.split("\n")) {
            if (line.startsWith(name + "\t") || line.startsWith(name + " ")) {
                return line.replaceAll("\\s+", " ").trim();
            }
        }
        return null;
    }

    @Test
    public void listShowsDomain0() throws Exception {
        reportStartToFirstList();
        String out = run("xen:list");
        assertTrue(out, out.contains("Name"));
        assertTrue(out, out.contains("Time(s)"));
        String dom0 = row(run("xen:list --no-format"), "Domain-0");
        assertTrue(out, dom0 != null && dom0.startsWith("Domain-0 0 "));
        String info = run("xen:info");
        assertTrue(info, info.contains("nr_cpus               : 2"));
        assertTrue(info, info.contains("total_memory          : 512"));
        // the virtual switch's default bridge, no host TAP configured
        assertTrue(info, info.contains("bridge xenbr0         : 0 ports, 0 MACs, host none"));
    }

    @Test
    public void networkCommandsAreThereAndRefuseADomainWithoutVifs() throws Exception {
        reportStartToFirstList();
        String refused = runFailing("xen:network-list Domain-0");
        assertTrue(refused, refused.contains("d0 has no network backend"));
        refused = runFailing("xen:network-attach Domain-0 mac=00:16:3e:00:00:01");
        assertTrue(refused, refused.contains("d0 has no network backend"));
        refused = runFailing("xen:network-list no-such-domain");
        assertTrue(refused, refused.contains("no-such-domain"));
    }

    @Test
    public void vncCommandsAreThereAndRefuseADomainWithoutADisplay() throws Exception {
        reportStartToFirstList();
        String refused = runFailing("xen:vnc-info Domain-0");
        assertTrue(refused, refused.contains("Domain-0 has no display"));
        refused = runFailing("xen:screenshot Domain-0 /tmp/xenj-it-shot.png");
        assertTrue(refused, refused.contains("Domain-0 has no display"));
    }

    @Test
    public void cdCommandsAreThereAndRefuseADomainWithoutTheDrive() throws Exception {
        reportStartToFirstList();
        String refused = runFailing("xen:cd-eject Domain-0 hdc");
        assertTrue(refused, refused.contains("Domain-0 has no CD-ROM drive hdc"));
        refused = runFailing("xen:cd-insert Domain-0 hdc /nonexistent.iso");
        assertTrue(refused, refused.contains("Domain-0 has no CD-ROM drive hdc"));
    }

    @Test
    public void saveAndRestoreAreThereAndRefuseWhatTheyCannotDo() throws Exception {
        reportStartToFirstList();
        String refused = runFailing("xen:save Domain-0 /tmp/xenj-it-d0.save");
        assertTrue(refused, refused.contains("guest domains only"));
        refused = runFailing("xen:restore /nonexistent/xenj-it.save");
        assertTrue(refused, refused.contains("no file /nonexistent/xenj-it.save"));
        refused = runFailing("xen:migrate Domain-0 localhost");
        assertTrue(refused, refused.contains("guest domains only"));
    }

    @Test
    public void workloadDomainLifecycle() throws Exception {
        reportStartToFirstList();
        Path f = cfg("spin.cfg", "name = \"it-spin\"\ntype = \"workload\"\nworkload = \"spin\"\nmemory = 16\n");
        String created = run("xen:create " + f);
        assertTrue(created, created.contains("Created domain it-spin"));

        String row = row(run("xen:list --no-format"), "it-spin");
        assertTrue(String.valueOf(row), row != null && row.contains(" 16 1 "));
        String json = run("xen:list -l it-spin");
        assertTrue(json, json.contains("\"name\": \"it-spin\""));
        assertTrue(json, json.contains("\"type\": \"workload\""));

        run("xen:pause it-spin");
        assertTrue(row(run("xen:list --no-format it-spin"), "it-spin").contains("--p---"));
        run("xen:unpause it-spin");
        assertFalse(row(run("xen:list --no-format it-spin"), "it-spin").contains("--p---"));

        run("xen:sched-credit -d it-spin -w 512 -c 40");
        String sched = row(run("xen:sched-credit --no-format -d it-spin"), "it-spin");
        assertTrue(sched, sched.endsWith(" 512 40"));

        String vcpus = run("xen:vcpu-list --no-format it-spin");
        assertTrue(vcpus, row(vcpus, "it-spin") != null);

        run("xen:destroy it-spin");
        assertEquals(null, row(run("xen:list --no-format"), "it-spin"));
    }

    @Test
    public void cpupoolCreateMigrateSwitchSchedulerDestroy() throws Exception {
        reportStartToFirstList();
        run("xen:create name=it-pooled type=workload workload=spin memory=16");
        String made = run("xen:cpupool-create name=it-pool sched=rr cpus=1");
        assertTrue(made, made.contains("Created cpupool it-pool"));
        String pools = run("xen:cpupool-list --no-format");
        assertTrue(pools, row(pools, "it-pool").startsWith("it-pool 1 rr y"));

        run("xen:cpupool-migrate it-pooled it-pool");
        assertTrue(run("xen:list -l it-pooled").contains("\"pool\": \"it-pool\""));

        String switched = run("xen:cpupool-sched it-pool credit");
        assertTrue(switched, switched.contains("now scheduled by credit"));
        assertTrue(row(run("xen:cpupool-list --no-format it-pool"), "it-pool").startsWith("it-pool 1 credit y 1"));

        run("xen:destroy it-pooled");
        run("xen:cpupool-destroy it-pool");
        assertEquals(null, row(run("xen:cpupool-list --no-format"), "it-pool"));
    }

    @Test
    public void badConfigNamesFileLineAndKeyAndCreatesNothing() throws Exception {
        reportStartToFirstList();
        Path f = cfg("bad.cfg", "name = \"it-bad\"\nvcpus = 1\nmemory = \"lots\"\n");
        String before = run("xen:list --no-format");
        String message = runFailing("xen:create " + f);
        assertEquals(f + ":3: key 'memory': expected a number of MiB, got \"lots\"", message);
        assertEquals(null, row(run("xen:list --no-format"), "it-bad"));
        assertEquals(before.split("\n").length, run("xen:list --no-format").split("\n").length);
    }

    /** Runs a command until it succeeds (the pool starts its embedded ZooKeeper after xenj is up). */
    private String runWhenReady(String command) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            try {
                return run(command);
            } catch (Exception notYet) {
                if (System.currentTimeMillis() > deadline) {
                    throw notYet;
                }
                Thread.sleep(200);
            }
        }
    }

    @Test
    public void poolCommandsRegisterThisHostAndRunAPoolDomainUnderALease() throws Exception {
        String hosts = runWhenReady("xen:pool-list --no-format");
        String me = row(hosts, "it-host");
        assertTrue(hosts, me != null && me.contains("up"));
        Path f = cfg("it-pooldom.cfg", "name = \"it-pooldom\"\ntype = \"workload\"\nworkload = \"idle\"\nmemory = 16\n");
        String created = run("xen:create --pool " + f);
        assertTrue(created, created.contains("Created pool domain it-pooldom on it-host (generation 1; placed by balanced"));
        String pool = run("xen:list --pool --no-format");
        assertEquals(pool, "it-pooldom it-host running 1 16 1", row(pool, "it-pooldom"));
        assertTrue("runs on the local hypervisor", row(run("xen:list --no-format"), "it-pooldom") != null);
        assertTrue(runFailing("xen:pool-leave").contains("runs pool domains [it-pooldom]"));
        run("xen:pool-stop it-pooldom");
        assertEquals(null, row(run("xen:list --no-format"), "it-pooldom"));
        assertEquals("it-pooldom - stopped 1 16 1", row(run("xen:list --pool --no-format"), "it-pooldom"));
        run("xen:pool-remove it-pooldom");
        assertEquals(null, row(run("xen:list --pool --no-format"), "it-pooldom"));

        // placement: the pack-first bundle of the feature is a policy here; the swap is pool-wide and at runtime
        String policies = run("xen:pool-placement");
        assertTrue(policies, policies.contains("placement policy: balanced") && policies.contains("   pack-first"));
        String swapped = run("xen:pool-placement --memory 16 pack-first");
        assertTrue(swapped, swapped.contains(" * pack-first") && swapped.contains("would go to it-host (pack-first"));
        run("xen:pool-placement balanced");
        Path huge = cfg("it-huge.cfg", "name = \"it-huge\"\ntype = \"workload\"\nworkload = \"idle\"\nmemory = 4000000\n");
        String refused = runFailing("xen:create --pool " + huge);
        assertTrue(refused, refused.contains("cannot place pool domain 'it-huge': no host fits (needs 4000000 MiB; it-host:"));
        assertEquals(null, row(run("xen:list --pool --no-format"), "it-huge"));
    }
}
