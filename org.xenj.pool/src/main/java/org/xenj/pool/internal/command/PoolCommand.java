package org.xenj.pool.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.xenj.pool.api.Pool;

/**
 * Base of the {@code xen:pool-*} commands: one call on the exported {@link Pool} service each; a
 * refusal is a {@link org.xenj.pool.api.PoolException} whose message Karaf prints.
 */
abstract class PoolCommand implements Action {

    @Reference
    Pool pool;

    /** Tests set this; in Karaf, System.out is the calling session's stream. */
    PrintStream out;

    protected PrintStream out() {
        return out != null ? out : System.out;
    }

    @Override
    public final Object execute() throws Exception {
        run();
        return null;
    }

    protected abstract void run() throws Exception;
}
