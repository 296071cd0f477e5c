package org.xenj.pool.internal;

import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.util.List;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

/**
 * Curator clients for the pool: rooted at {@link #NAMESPACE}, authenticated with ZooKeeper's
 * digest scheme and creating every znode with an ACL that grants everything to holders of the
 * pool secret and nothing to anybody else — a host without the secret can neither read nor join.
 */
public final class PoolClients {

    public static final String NAMESPACE = "xenj/pool";
    static final String USER = "xenj-pool";

    private PoolClients() {
    }

    public static CuratorFramework create(String connect, String secret, int sessionTimeoutMs) {
        byte[] auth = (USER + ":" + secret).getBytes(StandardCharsets.UTF_8);
        List<ACL> acl;
        try {
            // not List.of: ZooKeeper's validateACL asks contains(null), which immutable lists refuse
            acl = java.util.Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest(USER + ":" + secret))));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA digest in this JVM", e);
        }
        ACLProvider acls = new ACLProvider() {
            @Override
            public List<ACL> getDefaultAcl() {
                return acl;
            }

            @Override
            public List<ACL> getAclForPath(String path) {
                return acl;
            }
        };
        // The ZooKeeper client loads its socket and auth classes through the context class loader:
        // in OSGi that must be ZooKeeper's own bundle.
        Thread t = Thread.currentThread();
        ClassLoader before = t.getContextClassLoader();
        t.setContextClassLoader(org.apache.zookeeper.ZooKeeper.class.getClassLoader());
        try {
            CuratorFramework c = CuratorFrameworkFactory.builder()
                    .connectString(connect)
                    .namespace(NAMESPACE)
                    .sessionTimeoutMs(sessionTimeoutMs)
                    .connectionTimeoutMs(Math.max(1000, sessionTimeoutMs / 2))
                    .retryPolicy(new ExponentialBackoffRetry(100, 3, 1000))
                    .authorization("digest", auth)
                    .aclProvider(acls)
                    .build();
            c.start();
            return c;
        } finally {
            t.setContextClassLoader(before);
        }
    }
}
