package org.xenj.dom0.vswitch.api;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/** The switch as a service: its bridges, each created the first time it is asked for. */
@ProviderType
public interface VirtualSwitch {

    /** The bridge a vif spec without {@code bridge=} joins, as in xl. */
    String DEFAULT_BRIDGE = "xenbr0";

    /**
     * The bridge called {@code name}, created on demand. Names follow Linux's interface names: 1 to
     * 15 characters out of letters, digits, '.', '-' and '_'; anything else is an
     * {@link IllegalArgumentException}.
     */
    Bridge bridge(String name);

    /** The bridge called {@code name} if it exists. */
    Optional<Bridge> find(String name);

    /** Every bridge, by name. */
    List<Bridge> bridges();
}
