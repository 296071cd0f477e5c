package org.xenj.hypervisor.internal.pool;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

import org.xenj.hypervisor.internal.sched.PoolScheduler;

/** One cpupool's identity and the choices the user made for it; guarded by the manager. */
final class CpuPool {
    final int id;
    final String name;
    final PoolScheduler sched;
    /** The scheduler the user asked for; used whenever a type of that name is registered. */
    String wantedScheduler;
    /** Pool parameters the user set, per scheduler name, replayed to each new instance. */
    final Map<String, Map<String, String>> storedParams = new HashMap<>();

    CpuPool(int id, String name, PoolScheduler sched, String wantedScheduler) {
        this.id = id;
        this.name = name;
        this.sched = sched;
        this.wantedScheduler = wantedScheduler;
    }

    Map<String, String> paramsFor(String schedulerName) {
        return new TreeMap<>(storedParams.getOrDefault(schedulerName, Map.of()));
    }
}
