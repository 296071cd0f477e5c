package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;
import org.xenj.hypervisor.api.DomainConfig;

/**
 * Asked on the destination of a live migration, after the source's GO and before the arrived
 * domain first runs here: the one moment at which it runs nowhere (paused at the source, not yet
 * resumed here). A pool takes the domain's lease over at that moment, so that the registry changes
 * owner atomically with the hand-over. A refusal (any exception) destroys the arrived copy here;
 * the source, which has already sent GO, leaves its copy paused and reports the migration as
 * uncertain, and whoever asked for the migration decides (the pool resumes it there when the
 * lease is still the source's). Runs on the migration receiver's thread; must not take long.
 *
 * @since 1.6
 */
@ConsumerType
public interface MigrationGate {

    /**
     * @param domid  the arrived domain's id here
     * @param name   its name at the source
     * @param config its configuration
     * @throws RuntimeException to refuse; the message is logged and sent back to the source
     */
    void admit(int domid, String name, DomainConfig config);
}
