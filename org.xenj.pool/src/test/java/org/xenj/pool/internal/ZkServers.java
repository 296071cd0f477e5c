package org.xenj.pool.internal;

import java.nio.file.Path;

import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;

/** Real ZooKeeper servers in the test's JVM, with a tick short enough for 3 s sessions. */
final class ZkServers {

    static final int TICK_MS = 200;

    private ZkServers() {
    }

    static TestingServer start(Path dataDir) throws Exception {
        return start(dataDir, TICK_MS);
    }

    /** With another tick: sessions may last 2 to 20 ticks. */
    static TestingServer start(Path dataDir, int tickMs) throws Exception {
        InstanceSpec spec = new InstanceSpec(dataDir.toFile(), -1, -1, -1, false, 1, tickMs, 100);
        TestingServer s = new TestingServer(spec, false);
        s.start();
        return s;
    }
}
