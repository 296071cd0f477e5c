package org.xenj.sched.credit.internal;

import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.hypervisor.spi.SchedulerType;

/**
 * The credit scheduler type: stateless apart from the configured defaults, which live pools read
 * at their next accounting (a {@code @Modified} method, so a configuration change does not
 * re-register the service and trigger a scheduler hand-over).
 */
@Component(service = SchedulerType.class, configurationPid = CreditSchedulerType.PID,
        property = SchedulerType.NAME_PROPERTY + "=" + CreditSchedulerType.NAME)
@Designate(ocd = CreditConfig.class)
public final class CreditSchedulerType implements SchedulerType {

    public static final String NAME = "credit";
    public static final String PID = "org.xenj.sched.credit";

    private static final System.Logger LOG = System.getLogger(CreditSchedulerType.class.getName());

    private volatile CreditPoolParams defaults = CreditPoolParams.DEFAULTS;

    /** For use outside a framework (tests, embedding): built-in defaults. */
    public CreditSchedulerType() {
    }

    @Activate
    @Modified
    void configure(CreditConfig config) {
        try {
            defaults = new CreditPoolParams(config.tslice__ms(), config.ratelimit__us());
        } catch (IllegalArgumentException e) {
            // A typo in a config file must not take the scheduler away from running domains.
            LOG.log(System.Logger.Level.ERROR, "Configuration " + PID + " rejected, keeping " + defaults + ": "
                    + e.getMessage());
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, String> defaultPoolParams() {
        return defaults.toMap();
    }

    @Override
    public SchedulerInstance createInstance(SchedulerContext context) {
        return new CreditScheduler(context, () -> defaults);
    }
}
