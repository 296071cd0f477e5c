package org.xenj.dom0.toolstack.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.support.table.ShellTable;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.pool.api.Pool;
import org.xenj.pool.api.PoolDomain;

/**
 * {@code xen:list --pool} and {@code xen:create --pool}: the only classes of the toolstack that
 * touch the pool's API (an optional import), loaded only when {@code --pool} is given, so that
 * without the xenj-pool feature every other command works as before.
 */
final class PoolView {

    private PoolView() {
    }

    static Pool pool() {
        Bundle b = FrameworkUtil.getBundle(PoolView.class);
        BundleContext ctx = b == null ? null : b.getBundleContext();
        ServiceReference<Pool> ref = ctx == null ? null : ctx.getServiceReference(Pool.class);
        Pool p = ref == null ? null : ctx.getService(ref);
        if (p == null) {
            throw new HypervisorException("no pool here: install the xenj-pool feature");
        }
        return p;
    }

    static void list(Pool pool, PrintStream out, boolean noFormat) {
        ShellTable table = new ShellTable();
        table.column("Name");
        table.column("Host");
        table.column("State");
        table.column("Gen").alignRight();
        table.column("Mem").alignRight();
        table.column("VCPUs").alignRight();
        table.column("Disks");
        for (PoolDomain d : pool.domains()) {
            table.addRow().addContent(d.name(), d.owner().isEmpty() ? "-" : d.owner(), d.state(), d.generation(),
                    d.config().getOrDefault("memory", ""), d.config().getOrDefault("vcpus", ""), String.join(" ", d.disks()));
        }
        table.print(out, !noFormat);
        for (String e : pool.recordErrors()) {
            out.println("bad record " + e);
        }
    }

    /**
     * With {@code start}: the pool's placement policy chooses the host (this one or another), the
     * record is added and the domain starts there; a refusal ("no host fits") adds nothing.
     */
    static void addAndStart(Pool pool, DomainConfig config, boolean start, PrintStream out) {
        if (start) {
            long t0 = System.nanoTime();
            PoolDomain d = pool.create(config);
            out.printf("Created pool domain %s on %s (generation %d; placed by %s, %.0f ms)%n", d.name(), d.owner(), d.generation(),
                    pool.placementPolicy(), (System.nanoTime() - t0) / 1e6);
        } else {
            pool.add(config);
            out.println("Added pool domain " + config.name() + " (stopped; xen:pool-start " + config.name() + " runs it)");
        }
    }

    /**
     * Whether {@code name} is a pool domain this pool knows — checked by the service's class name,
     * so that calling it loads nothing of the pool's API when the pool is not installed.
     */
    static boolean isPoolDomain(String name) {
        Bundle b = FrameworkUtil.getBundle(PoolView.class);
        BundleContext ctx = b == null ? null : b.getBundleContext();
        if (ctx == null || ctx.getServiceReference("org.xenj.pool.api.Pool") == null) {
            return false;
        }
        try {
            return pool().domains().stream().anyMatch(d -> d.name().equals(name));
        } catch (RuntimeException e) {
            return false; // the pool is not ready: not a pool migration
        }
    }

    /** {@code xen:migrate} of a pool domain: a live migration with the lease handed over (the owner does it). */
    static void migrate(String name, String host, PrintStream out) {
        long t0 = System.nanoTime();
        PoolDomain d = pool().migrate(name, host);
        out.printf("Migrated pool domain %s to %s (generation %d), %.0f ms; the pool's lease moved with it%n", d.name(), d.owner(),
                d.generation(), (System.nanoTime() - t0) / 1e6);
    }
}
