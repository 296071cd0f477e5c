package org.xenj.pool.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.apache.zookeeper.server.embedded.ExitHandler;
import org.apache.zookeeper.server.embedded.ZooKeeperServerEmbedded;

/**
 * A single ZooKeeper server inside xenj, for a pool of one machine (or a few hosts that accept
 * one server as their single point of failure). It listens on {@code bind:port}, loopback by
 * default, and keeps its data under {@code dir} so the registry survives a restart of xenj.
 */
final class EmbeddedZooKeeper implements AutoCloseable {

    private final ZooKeeperServerEmbedded server;
    private final String connect;

    EmbeddedZooKeeper(Path dir, String bind, int port) throws Exception {
        Files.createDirectories(dir);
        Properties p = new Properties();
        p.setProperty("dataDir", dir.resolve("data").toString());
        p.setProperty("clientPort", Integer.toString(port));
        p.setProperty("clientPortAddress", bind);
        p.setProperty("tickTime", "500");
        p.setProperty("minSessionTimeout", "2000");
        p.setProperty("maxSessionTimeout", "60000");
        // no Jetty admin server, no four-letter words: nothing listens but the client port
        p.setProperty("admin.enableServer", "false");
        p.setProperty("4lw.commands.whitelist", "");
        p.setProperty("autopurge.purgeInterval", "1");
        // ZooKeeper's default metrics provider needs Dropwizard metrics (com.codahale), which the
        // feature does not install: no metrics
        p.setProperty("metricsProvider.className", "org.apache.zookeeper.metrics.impl.NullMetricsProvider");
        Thread t = Thread.currentThread();
        ClassLoader before = t.getContextClassLoader();
        t.setContextClassLoader(ZooKeeperServerEmbedded.class.getClassLoader());
        try {
            server = ZooKeeperServerEmbedded.builder().baseDir(dir).configuration(p).exitHandler(ExitHandler.LOG_ONLY).build();
            server.start(30_000);
            connect = bind + ":" + port;
        } finally {
            t.setContextClassLoader(before);
        }
    }

    String connectString() {
        return connect;
    }

    @Override
    public void close() {
        server.close();
    }
}
