package org.xenj.pool.api;

/**
 * @param host      this member's name
 * @param connect   the ensemble's connect string
 * @param embedded  whether this xenj runs the (single) ZooKeeper server itself
 * @param state     {@code connecting}, {@code connected}, {@code suspended} (link lost: owned
 *                  domains are paused until it is back), {@code lost} (session expired: leases gone)
 *                  or {@code failed: reason}
 * @param member    whether this host's membership record exists
 */
public record PoolStatus(String host, String connect, boolean embedded, String state, boolean member) {
}
