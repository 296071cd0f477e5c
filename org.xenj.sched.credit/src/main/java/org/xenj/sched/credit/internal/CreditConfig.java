package org.xenj.sched.credit.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** ConfigAdmin PID {@code org.xenj.sched.credit}: defaults for pools that were not configured by hand. */
@ObjectClassDefinition(name = "xenj credit scheduler",
        description = "Default pool parameters of Xen's credit scheduler. Pools pick up changes at their next "
                + "accounting unless their parameters were set with xen:sched-credit.")
@interface CreditConfig {

    @AttributeDefinition(name = "Timeslice (ms)", min = "1", max = "1000",
            description = "Timeslice in milliseconds; the tick is a third of it and accounting runs once per timeslice.")
    // Double underscore: DS maps it to the property name "tslice_ms" (a single one would become a dot).
    int tslice__ms() default CreditPoolParams.DEFAULT_TSLICE_MS;

    @AttributeDefinition(name = "Ratelimit (us)", min = "0", max = "500000",
            description = "Minimum run time in microseconds before a vCPU can be preempted; 0 = off, else 100..500000 "
                    + "and not above the timeslice.")
    int ratelimit__us() default CreditPoolParams.DEFAULT_RATELIMIT_US;
}
