package org.xenj.itest.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.xenj.hypervisor.spi.SchedulerType;

/** The scheduler SPI in a real framework: services, package wiring, ConfigAdmin, bundle life cycle. */
class SchedulerServicesTest {

    private static final long TIMEOUT_MS = 10_000;

    private final BundleContext context = FrameworkUtil.getBundle(SchedulerServicesTest.class).getBundleContext();

    private ServiceReference<SchedulerType> reference(String name) {
        try {
            var refs = context.getServiceReferences(SchedulerType.class, "(" + SchedulerType.NAME_PROPERTY + "=" + name + ")");
            return refs.isEmpty() ? null : refs.iterator().next();
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private SchedulerType scheduler(String name) {
        Await.until("scheduler " + name, TIMEOUT_MS, () -> reference(name) != null);
        // Kept (never ungot) for the test's life: DS components are delayed, and releasing the
        // last use would deactivate the very instance the test then watches.
        return context.getService(reference(name));
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("bundle " + symbolicName + " not installed");
    }

    @Test
    void everySchedulerBundleRegistersItsTypeUnderItsName() {
        Map<String, String> bundleOf = Map.of("credit", "org.xenj.sched.credit", "rr", "org.xenj.sched.rr",
                "lottery", "org.xenj.example.lottery");
        bundleOf.forEach((name, bsn) -> {
            SchedulerType type = scheduler(name);
            assertEquals(name, type.name());
            assertEquals(bsn, reference(name).getBundle().getSymbolicName());
        });
        assertEquals(Map.of("tslice_ms", "30", "ratelimit_us", "1000"), scheduler("credit").defaultPoolParams());
        assertEquals(Map.of("slice_ms", "30"), scheduler("rr").defaultPoolParams());
    }

    @Test
    void pluginsSeeTheSpiOfTheHypervisorBundleOnly() {
        for (String bsn : List.of("org.xenj.sched.credit", "org.xenj.sched.rr", "org.xenj.example.lottery")) {
            BundleWiring wiring = bundle(bsn).adapt(BundleWiring.class);
            assertNotNull(wiring, bsn + " is resolved");
            boolean spiFromHypervisor = false;
            for (BundleWire wire : wiring.getRequiredWires("osgi.wiring.package")) {
                Object pkg = wire.getCapability().getAttributes().get("osgi.wiring.package");
                String provider = wire.getProvider().getBundle().getSymbolicName();
                assertTrue(!String.valueOf(pkg).startsWith("org.xenj.") || "org.xenj.hypervisor".equals(provider),
                        bsn + " imports " + pkg + " from " + provider);
                spiFromHypervisor |= "org.xenj.hypervisor.spi".equals(pkg) && "org.xenj.hypervisor".equals(provider);
            }
            assertTrue(spiFromHypervisor, bsn + " is wired to org.xenj.hypervisor.spi");
        }
    }

    @Test
    void configAdminChangesCreditDefaultsWithoutReRegistering() throws Exception {
        SchedulerType credit = scheduler("credit");
        Object serviceId = reference("credit").getProperty("service.id");
        ConfigurationAdmin cm = configAdmin();
        Configuration config = cm.getConfiguration("org.xenj.sched.credit", "?");
        try {
            config.update(props("tslice_ms", 10, "ratelimit_us", 500));
            Await.until("credit defaults tslice_ms=10", TIMEOUT_MS,
                    () -> "10".equals(credit.defaultPoolParams().get("tslice_ms")));
            assertEquals(Map.of("tslice_ms", "10", "ratelimit_us", "500"), credit.defaultPoolParams());
            assertEquals(serviceId, reference("credit").getProperty("service.id"), "same service, no hand-over");

            // A bad value is refused; the scheduler stays registered with the previous defaults.
            config.update(props("tslice_ms", 0, "ratelimit_us", 500));
            Thread.sleep(300);
            assertEquals(Map.of("tslice_ms", "10", "ratelimit_us", "500"), credit.defaultPoolParams());
            assertEquals(serviceId, reference("credit").getProperty("service.id"));
        } finally {
            config.delete();
        }
        Await.until("credit defaults back to 30 ms", TIMEOUT_MS,
                () -> "30".equals(credit.defaultPoolParams().get("tslice_ms")));
    }

    @Test
    void configAdminSetsTheRoundRobinSlice() throws Exception {
        SchedulerType rr = scheduler("rr");
        Configuration config = configAdmin().getConfiguration("org.xenj.sched.rr", "?");
        try {
            config.update(props("slice_ms", 5));
            Await.until("rr slice 5 ms", TIMEOUT_MS, () -> "5".equals(rr.defaultPoolParams().get("slice_ms")));
        } finally {
            config.delete();
        }
        Await.until("rr slice back to 30 ms", TIMEOUT_MS, () -> "30".equals(rr.defaultPoolParams().get("slice_ms")));
    }

    @Test
    void stoppingASchedulerBundleWithdrawsItsTypeAndStartingBringsItBack() throws Exception {
        Bundle rr = bundle("org.xenj.sched.rr");
        scheduler("rr");
        rr.stop();
        try {
            Await.until("rr withdrawn", TIMEOUT_MS, () -> reference("rr") == null);
            assertNull(reference("rr"));
            assertNotNull(reference("credit"), "other schedulers are untouched");
        } finally {
            rr.start();
        }
        assertEquals("rr", scheduler("rr").name());
    }

    private ConfigurationAdmin configAdmin() {
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        assertNotNull(ref, "ConfigurationAdmin is running");
        return context.getService(ref);
    }

    private static Dictionary<String, Object> props(Object... keyValues) {
        Dictionary<String, Object> d = new Hashtable<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            d.put((String) keyValues[i], keyValues[i + 1]);
        }
        return d;
    }
}
