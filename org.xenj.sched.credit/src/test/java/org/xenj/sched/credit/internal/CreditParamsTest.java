package org.xenj.sched.credit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.sched.testkit.Workload.MS;

import java.lang.annotation.Annotation;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.sched.testkit.SchedSim;
import org.xenj.sched.testkit.SimVCpu;
import org.xenj.sched.testkit.Workload;

/** Parameter validation and ConfigAdmin defaults. */
class CreditParamsTest {

    private static void assertRejected(String expectedInMessage, Runnable action) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action::run);
        assertTrue(e.getMessage().contains(expectedInMessage), e.getMessage());
    }

    @Test
    void badPoolParametersAreRejectedAndChangeNothing() {
        SchedSim sim = CreditFairnessTest.credit(1);
        SchedulerInstance credit = sim.instance();
        assertRejected("tslice_ms must be in 1..1000, got 0", () -> credit.setPoolParams(Map.of("tslice_ms", "0")));
        assertRejected("tslice_ms must be in 1..1000", () -> credit.setPoolParams(Map.of("tslice_ms", "1001")));
        assertRejected("tslice_ms must be an integer, got 'fast'", () -> credit.setPoolParams(Map.of("tslice_ms", "fast")));
        assertRejected("ratelimit_us must be 0 (off) or in 100..500000, got 50",
                () -> credit.setPoolParams(Map.of("ratelimit_us", "50")));
        assertRejected("must not exceed the timeslice",
                () -> credit.setPoolParams(Map.of("tslice_ms", "2", "ratelimit_us", "3000")));
        assertEquals(Map.of("tslice_ms", "30", "ratelimit_us", "1000"), credit.poolParams());

        credit.setPoolParams(Map.of("tslice_ms", " 10 ", "unknown", "x"));
        assertEquals(Map.of("tslice_ms", "10", "ratelimit_us", "1000"), credit.poolParams());
    }

    @Test
    void badDomainParametersAreRejectedAndChangeNothing() {
        SchedSim sim = CreditFairnessTest.credit(1);
        sim.add(7, 300, Workload.cpuBound());
        sim.add(7, 300, Workload.cpuBound());
        SchedulerInstance credit = sim.instance();
        assertEquals(Map.of("weight", "300", "cap", "0"), credit.domainParams(7));
        assertRejected("weight must be in 1..65535, got 0", () -> credit.setDomainParams(7, Map.of("weight", "0")));
        assertRejected("weight must be in 1..65535, got 65536", () -> credit.setDomainParams(7, Map.of("weight", "65536")));
        assertRejected("weight must be an integer, got 'heavy'", () -> credit.setDomainParams(7, Map.of("weight", "heavy")));
        assertRejected("cap must be in 0...200", () -> credit.setDomainParams(7, Map.of("weight", "500", "cap", "201")));
        assertRejected("cap must be in 0...200", () -> credit.setDomainParams(7, Map.of("cap", "-1")));
        assertEquals(Map.of("weight", "300", "cap", "0"), credit.domainParams(7), "nothing changed");

        credit.setDomainParams(7, Map.of("weight", "65535", "cap", "150", "ignored", "1"));
        assertEquals(Map.of("weight", "65535", "cap", "150"), credit.domainParams(7));
        assertEquals(Map.of(), credit.domainParams(99));
    }

    @Test
    void configuredDefaultsReachPoolsThatWereNotConfiguredByHand() {
        CreditSchedulerType type = new CreditSchedulerType();
        assertEquals(Map.of("tslice_ms", "30", "ratelimit_us", "1000"), type.defaultPoolParams());
        assertEquals("credit", type.name());
        SchedSim byDefault = new SchedSim(1).start(type::createInstance);
        SchedSim byHand = new SchedSim(1).start(type::createInstance);
        byHand.instance().setPoolParams(Map.of("ratelimit_us", "500"));
        SimVCpu hog = byDefault.add(1, 256, Workload.cpuBound());
        byDefault.add(2, 256, Workload.cpuBound());
        byHand.add(1, 256, Workload.cpuBound());

        type.configure(config(10, 200));
        assertEquals(Map.of("tslice_ms", "10", "ratelimit_us", "200"), type.defaultPoolParams());
        byDefault.runFor(200 * MS);
        byHand.runFor(200 * MS);
        assertEquals(Map.of("tslice_ms", "10", "ratelimit_us", "200"), byDefault.instance().poolParams());
        assertEquals(Map.of("tslice_ms", "30", "ratelimit_us", "500"), byHand.instance().poolParams());
        byDefault.resetStats();
        byDefault.runFor(1000 * MS);
        assertEquals(10 * MS, hog.cpuNanos() / hog.runs(), MS, "the new timeslice is in force");

        type.configure(config(0, 200));
        assertEquals(Map.of("tslice_ms", "10", "ratelimit_us", "200"), type.defaultPoolParams(),
                "a bad configuration keeps the previous defaults");
    }

    private static CreditConfig config(int tsliceMs, int ratelimitUs) {
        return new CreditConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return CreditConfig.class;
            }

            @Override
            public int tslice__ms() {
                return tsliceMs;
            }

            @Override
            public int ratelimit__us() {
                return ratelimitUs;
            }
        };
    }
}
