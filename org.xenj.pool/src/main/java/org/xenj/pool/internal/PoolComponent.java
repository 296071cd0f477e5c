package org.xenj.pool.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.hypervisor.spi.MigrationGate;
import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementPolicy;
import org.xenj.pool.api.PlacementRequest;
import org.xenj.pool.api.Pool;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.api.PoolStatus;

/**
 * The pool as an OSGi service. Activation returns at once: the embedded ZooKeeper server (unless
 * {@code xenj.pool.connect} names an ensemble), the client and the join run on the pool's own
 * thread, so xenj's start is not held up by the pool; until then {@link #status()} says
 * {@code connecting} and the other calls are refused with that reason.
 */
@Component(service = {Pool.class, MigrationGate.class}, immediate = true, configurationPid = "org.xenj.pool")
@Designate(ocd = PoolComponent.Config.class)
public class PoolComponent implements Pool, MigrationGate {

    @ObjectClassDefinition(name = "xenj pool")
    public @interface Config {
        @AttributeDefinition(description = "false: no pool (no ZooKeeper server, no client)")
        boolean xenj_pool_enabled() default true;

        @AttributeDefinition(description = "host:port,... of an external ZooKeeper ensemble; empty = run an embedded server")
        String xenj_pool_connect() default "";

        @AttributeDefinition(description = "Address the embedded server listens on")
        String xenj_pool_bind() default "127.0.0.1";

        @AttributeDefinition(description = "Client port of the embedded server")
        int xenj_pool_port() default 2181;

        @AttributeDefinition(description = "This member's name; empty = the host name")
        String xenj_pool_host() default "";

        @AttributeDefinition(description = "Address other members reach this host at; empty = the host name")
        String xenj_pool_address() default "";

        @AttributeDefinition(description = "Pool secret (ZooKeeper digest auth + ACLs); empty with the embedded server = generated into its data directory")
        String xenj_pool_secret() default "";

        @AttributeDefinition(description = "ZooKeeper session timeout in ms: a host cut off longer than this loses its leases")
        int xenj_pool_session_timeout_ms() default 10_000;

        @AttributeDefinition(description = "Join the pool at start")
        boolean xenj_pool_join() default true;
    }

    private static final Logger LOG = LoggerFactory.getLogger(PoolComponent.class);

    @Reference
    Hypervisor hypervisor;

    /** Placement policies come and go with their bundles; the pool's choice (by name) is in the engine. */
    private final Placements placements = new Placements();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void addPlacementPolicy(PlacementPolicy policy, Map<String, Object> props) {
        Object name = props.get(PlacementPolicy.NAME_PROPERTY);
        try {
            placements.add(name == null ? null : name.toString(), policy);
            LOG.info("pool: placement policy '{}' installed", name);
        } catch (IllegalArgumentException e) {
            LOG.warn("pool: placement policy ignored: {}", e.getMessage());
        }
    }

    void removePlacementPolicy(PlacementPolicy policy, Map<String, Object> props) {
        Object name = props.get(PlacementPolicy.NAME_PROPERTY);
        placements.remove(name == null ? null : name.toString(), policy);
        LOG.info("pool: placement policy '{}' removed", name);
    }

    private final ExecutorService starter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "xenj-pool-start");
        t.setDaemon(true);
        return t;
    });
    private volatile ZkPool pool;
    private volatile EmbeddedZooKeeper server;
    private volatile CuratorFramework client;
    private volatile String state = "connecting";
    private volatile String connect = "";
    private volatile boolean embedded;

    @Activate
    void activate(Config config, BundleContext context) {
        if (!config.xenj_pool_enabled()) {
            state = "disabled (xenj.pool.enabled=false)";
            return;
        }
        starter.execute(() -> start(config, context));
    }

    private void start(Config config, BundleContext context) {
        long t0 = System.nanoTime();
        try {
            String host = config.xenj_pool_host().isBlank() ? hypervisor.info().hostname() : config.xenj_pool_host().trim();
            if (!org.xenj.pool.internal.record.Records.validName(host)) {
                throw new PoolException("'" + host + "' cannot be a pool member's name: set xenj.pool.host");
            }
            String address = config.xenj_pool_address().isBlank() ? host : config.xenj_pool_address().trim();
            String secret = config.xenj_pool_secret();
            String ensemble = config.xenj_pool_connect().trim();
            long serverMs = 0;
            if (ensemble.isEmpty()) {
                Path dir = dataDir(context);
                if (secret.isBlank()) {
                    secret = localSecret(dir);
                }
                embedded = true;
                server = new EmbeddedZooKeeper(dir.resolve("zookeeper"), config.xenj_pool_bind(), config.xenj_pool_port());
                ensemble = server.connectString();
                serverMs = (System.nanoTime() - t0) / 1_000_000;
            } else if (secret.isBlank()) {
                throw new PoolException("xenj.pool.connect names an external ensemble: set xenj.pool.secret (the same on every host)");
            }
            connect = ensemble;
            client = PoolClients.create(ensemble, secret, config.xenj_pool_session_timeout_ms());
            if (!client.blockUntilConnected(config.xenj_pool_session_timeout_ms(), TimeUnit.MILLISECONDS)) {
                throw new PoolException("no answer from the pool's ZooKeeper at " + ensemble + " within "
                        + config.xenj_pool_session_timeout_ms() + " ms (it keeps trying)");
            }
            ZkPool p = new ZkPool(client, hypervisor, host, address, ensemble, embedded, LOG::info, placements,
                    config.xenj_pool_session_timeout_ms(), 1000);
            pool = p;
            if (config.xenj_pool_join()) {
                p.join();
            }
            state = "connected";
            LOG.info("pool: {} ZooKeeper {} ({} ms to start the server, {} ms to connected{})", embedded ? "embedded" : "external",
                    ensemble, serverMs, (System.nanoTime() - t0) / 1_000_000, config.xenj_pool_join() ? " and joined as " + host : "");
        } catch (Exception e) {
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            state = "failed: " + why;
            LOG.warn("pool: not started: {}", why, e);
        }
    }

    private static Path dataDir(BundleContext context) {
        String karafData = context.getProperty("karaf.data");
        return karafData != null ? Path.of(karafData, "pool") : context.getDataFile("pool").toPath();
    }

    /** The embedded pool's secret: made once, readable by the owner of xenj's data only. */
    private static String localSecret(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path f = dir.resolve("secret");
        if (!Files.exists(f)) {
            byte[] b = new byte[24];
            new SecureRandom().nextBytes(b);
            Files.writeString(f, HexFormat.of().formatHex(b), StandardCharsets.US_ASCII);
            try {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
        }
        return Files.readString(f, StandardCharsets.US_ASCII).trim();
    }

    @Deactivate
    void deactivate() {
        starter.shutdownNow();
        try {
            starter.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ZkPool p = pool;
        pool = null;
        if (p != null) {
            p.close();
        }
        if (client != null) {
            client.close();
            // after the pauses ZkPool.close logged: a stop's log shows that order
            LOG.info("pool: session closed: this host's leases are released");
        }
        if (server != null) {
            server.close();
        }
    }

    private ZkPool pool() {
        ZkPool p = pool;
        if (p == null) {
            throw new PoolException("the pool is not ready: " + state);
        }
        return p;
    }

    @Override
    public PoolStatus status() {
        ZkPool p = pool;
        return p != null ? p.status() : new PoolStatus("", connect, embedded, state, false);
    }

    @Override public List<PoolHost> hosts() { return pool().hosts(); }
    @Override public void join() { pool().join(); }
    @Override public void leave() { pool().leave(); }
    @Override public List<PoolDomain> domains() { return pool().domains(); }
    @Override public List<String> recordErrors() { return pool().recordErrors(); }
    @Override public PoolDomain add(DomainConfig config) { return pool().add(config); }
    @Override public PoolDomain start(String name) { return pool().start(name); }
    @Override public PoolDomain stop(String name) { return pool().stop(name); }
    @Override public void remove(String name) { pool().remove(name); }
    @Override public PoolDomain create(DomainConfig config) { return pool().create(config); }
    @Override public PoolDomain startOn(String name, String host) { return pool().startOn(name, host); }
    @Override public String placementPolicy() { return pool().placementPolicy(); }
    @Override public List<String> placementPolicies() { return placements.names(); }
    @Override public void choosePlacementPolicy(String name) { pool().choosePlacementPolicy(name); }
    @Override public Placement place(PlacementRequest request) { return pool().place(request); }
    @Override public PoolDomain migrate(String name, String host) { return pool().migrate(name, host); }
    @Override public List<String> evacuate(String host) { return pool().evacuate(host); }

    /**
     * A domain arrived here by migration: if it is a pool domain, its lease is taken over now.
     * With the pool disabled, nothing to do; while it is not ready (connecting, failed), arrivals are
     * refused — one of them could be a pool domain that would then run with no lease here.
     */
    @Override
    public void admit(int domid, String name, DomainConfig config) {
        ZkPool p = pool;
        if (p == null) {
            if (state.startsWith("disabled")) {
                return;
            }
            throw new PoolException("the pool on this host is not ready (" + state + "): incoming domains are refused until it is");
        }
        p.handover().admit(domid, name, config);
    }
}
