package org.xenj.sched.rr.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** ConfigAdmin PID {@code org.xenj.sched.rr}. */
@ObjectClassDefinition(name = "xenj round-robin scheduler",
        description = "Default slice of round-robin pools whose slice was not set with xen:sched-rr.")
@interface RrConfig {

    @AttributeDefinition(name = "Slice (ms)", min = "1", max = "1000", description = "How long each vCPU runs in turn.")
    // Double underscore: the property is "slice_ms" (a single underscore would map to a dot).
    int slice__ms() default RoundRobinScheduler.DEFAULT_SLICE_MS;
}
