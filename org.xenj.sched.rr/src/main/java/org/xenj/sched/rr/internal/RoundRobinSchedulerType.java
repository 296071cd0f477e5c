package org.xenj.sched.rr.internal;

import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.hypervisor.spi.SchedulerType;

/**
 * The round-robin scheduler type. A configuration change updates the default slice in place
 * ({@code @Modified}): live pools without a slice of their own pick it up at their next decision,
 * and the service is not re-registered (which would hand every vCPU over).
 */
@Component(service = SchedulerType.class, configurationPid = RoundRobinSchedulerType.PID,
        property = SchedulerType.NAME_PROPERTY + "=" + RoundRobinSchedulerType.NAME)
@Designate(ocd = RrConfig.class)
public final class RoundRobinSchedulerType implements SchedulerType {

    public static final String NAME = "rr";
    public static final String PID = "org.xenj.sched.rr";

    private static final System.Logger LOG = System.getLogger(RoundRobinSchedulerType.class.getName());

    private volatile int defaultSliceMs = RoundRobinScheduler.DEFAULT_SLICE_MS;

    public RoundRobinSchedulerType() {
    }

    @Activate
    @Modified
    void configure(RrConfig config) {
        try {
            defaultSliceMs = RoundRobinScheduler.checkSlice(config.slice__ms());
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.ERROR, "Configuration " + PID + " rejected, keeping slice_ms="
                    + defaultSliceMs + ": " + e.getMessage());
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, String> defaultPoolParams() {
        return Map.of(RoundRobinScheduler.SLICE_MS, Integer.toString(defaultSliceMs));
    }

    @Override
    public SchedulerInstance createInstance(SchedulerContext context) {
        return new RoundRobinScheduler(context, () -> defaultSliceMs);
    }
}
