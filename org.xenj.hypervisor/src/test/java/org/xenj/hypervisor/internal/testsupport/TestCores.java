package org.xenj.hypervisor.internal.testsupport;

import java.util.function.BooleanSupplier;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hypervisor.internal.testsched.FifoSchedulerType;
import org.xenj.hypervisor.internal.testsched.ProtocolChecker;
import org.xenj.hypervisor.internal.workload.WorkloadGuestBuilder;

/** Builds small hypervisors for tests: plain Java, no OSGi. */
public final class TestCores {

    private TestCores() {
    }

    /** A core with {@code pcpus} pCPUs, 64 MiB (Domain-0: 8 MiB), the workload builder and a FIFO test scheduler "fifo". */
    public static Fixture start(int pcpus) {
        return start(pcpus, "64M");
    }

    /** As {@link #start(int)} with {@code memory} for the whole machine (e.g. {@code 600M}). */
    public static Fixture start(int pcpus, String memory) {
        Plugins plugins = new Plugins();
        ProtocolChecker checker = new ProtocolChecker();
        plugins.addBuilder(new WorkloadGuestBuilder());
        plugins.addScheduler(new FifoSchedulerType("fifo", checker, 1000));
        HypervisorCore core = new HypervisorCore(CoreConfig.parse(memory, pcpus, "8M", "fifo"), plugins);
        return new Fixture(core, plugins, checker);
    }

    public record Fixture(HypervisorCore core, Plugins plugins, ProtocolChecker checker) implements AutoCloseable {
        @Override
        public void close() {
            core.close();
        }
    }

    public static DomainConfig.Builder workload(String name, String workload) {
        return DomainConfig.builder(name).type(DomainType.WORKLOAD).workload(workload).memoryMiB(4);
    }

    /** Polls {@code condition} (test-side waiting only) until true or {@code millis} pass. */
    public static boolean await(BooleanSupplier condition, long millis) {
        long end = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < end) {
            if (condition.getAsBoolean()) {
                return true;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return condition.getAsBoolean();
    }
}
