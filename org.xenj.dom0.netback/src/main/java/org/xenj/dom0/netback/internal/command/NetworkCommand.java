package org.xenj.dom0.netback.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.xenj.dom0.netback.api.NetworkService;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.hypervisor.api.HypervisorException;

/**
 * Base of the {@code xen:network-*} commands: thin, one call on the exported {@link NetworkService}
 * each, domains resolved by name or id through the {@link Hypervisor} API as the other
 * {@code xen:} commands do. A refusal is an exception with a message for the user.
 */
abstract class NetworkCommand implements Action {

    @Reference
    Hypervisor hypervisor;

    @Reference
    NetworkService network;

    /** Tests set this; in Karaf, System.out is the calling session's stream. */
    PrintStream out;

    protected PrintStream out() {
        return out != null ? out : System.out;
    }

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
        try {
            run();
        } catch (IllegalArgumentException e) {
            throw new HypervisorException(e.getMessage(), e);
        }
        return null;
    }

    protected abstract void run() throws Exception;
}
