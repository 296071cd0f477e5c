package org.xenj.hypervisor.spi;

import java.util.Map;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A scheduler type, as Xen's {@code struct scheduler}: stateless, shared by every pool that uses
 * it. Registered as an OSGi service; the hypervisor calls {@link #createInstance} once per pool.
 */
@ConsumerType
public interface SchedulerType {

    /** Service property carrying {@link #name()}, so that the toolstack can select by name. */
    String NAME_PROPERTY = "xenj.scheduler";

    /** Short name as {@code xl} uses it: {@code credit}, {@code rr}. */
    String name();

    /** Pool-wide parameters this type understands, with their defaults. */
    Map<String, String> defaultPoolParams();

    /** A fresh instance for one pool; it starts with no vCPUs. */
    SchedulerInstance createInstance(SchedulerContext context);
}
