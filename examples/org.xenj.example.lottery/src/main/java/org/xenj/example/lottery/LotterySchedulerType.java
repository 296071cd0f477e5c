package org.xenj.example.lottery;

import java.util.Map;

import org.osgi.service.component.annotations.Component;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.hypervisor.spi.SchedulerType;

/**
 * A scheduler from outside the project: registering this service is all it takes for xenj's
 * cpupools to offer {@code lottery}. It uses nothing but the exported SPI.
 */
@Component(service = SchedulerType.class, property = SchedulerType.NAME_PROPERTY + "=" + LotterySchedulerType.NAME)
public final class LotterySchedulerType implements SchedulerType {

    public static final String NAME = "lottery";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, String> defaultPoolParams() {
        return Map.of(LotteryScheduler.SLICE_MS, Integer.toString(LotteryScheduler.DEFAULT_SLICE_MS));
    }

    @Override
    public SchedulerInstance createInstance(SchedulerContext context) {
        return new LotteryScheduler(context, System.nanoTime());
    }
}
