/**
 * A pool of xenj hosts on Apache ZooKeeper: which hosts are members ({@link PoolHost}), which
 * domains the pool knows ({@link PoolDomain}) and which host runs each — at most one at a time,
 * enforced by a lease with a fencing token — and where a domain goes ({@link PlacementPolicy}, a
 * plugin point since 1.1.0). {@link Pool} is a service of the {@code org.xenj.pool}
 * bundle; the {@code xen:pool-*} commands and {@code xen:list --pool} are thin shells over it.
 */
@Version("1.1.0")
@Export
package org.xenj.pool.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
