package org.xenj.dom0.toolstack.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.hypervisor.api.HypervisorException;

/**
 * Base of the {@code xen:} commands: they are thin, turning arguments into one call on the
 * exported {@link Hypervisor} API and its answer into xl-like output. A refused operation throws
 * with a message meant for the user; Karaf prints it and scripts see a non-zero exit.
 */
abstract class XenCommand implements Action {

    @Reference
    Hypervisor hypervisor;

    /** Tests set this; in Karaf, System.out is the calling session's stream. */
    PrintStream out;

    protected PrintStream out() {
        return out != null ? out : System.out;
    }

    /** A domain by name or id, or a clear error. */
    protected Domain domain(String nameOrId) {
        try {
            return hypervisor.resolve(nameOrId);
        } catch (HypervisorException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new HypervisorException("no domain '" + nameOrId + "'", e);
        }
    }

    @Override
    public final Object execute() throws Exception {
        run();
        return null;
    }

    protected abstract void run() throws Exception;
}
