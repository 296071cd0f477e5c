package org.xenj.dom0.netback.boot;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.netback.internal.Netback;
import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hypervisor.internal.pv.PvDomainBuilder;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * Mini-OS's own netfront (Xen's small PV kernel, prebuilt outside this project:
 * ../shared/guests/mini-os) against netback on the real hypervisor — event channels, grant tables
 * and xenstore of a PV domain. Its netfront must reach Connected with our backend, and frames the
 * switch floods must land in the rx buffers it granted (grant copy into a PV guest), with no error.
 * Skipped, with the reason, when the image is not there.
 */
class MiniOsNetfrontTest {

    @Test
    void miniOsNetfrontConnectsAndTakesFrames() throws Exception {
        String p = System.getProperty("xenj.minios");
        Path gz = p != null ? Path.of(p) : Path.of("..", "..", "shared", "guests", "mini-os", "mini-os-x86_32.gz").toAbsolutePath().normalize();
        if (!Files.isReadable(gz)) {
            System.out.println("[minios-net] skipped: no Mini-OS image at " + gz);
        }
        assumeTrue(Files.isReadable(gz), "Mini-OS image not found at " + gz);
        List<String> log = new CopyOnWriteArrayList<>();
        SwitchService sw = new SwitchService(System::nanoTime, log::add, 300_000);
        Netback netback = new Netback(sw);
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new PvDomainBuilder());
        plugins.addBackend(netback, Netback.KIND);
        ExecutorService nic = Executors.newSingleThreadExecutor();
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("128M", 1, "32M", "credit"), plugins)) {
            Domain d = xen.create(DomainConfig.builder("minios").type(DomainType.PV).memoryMiB(32).kernel(gz.toString())
                    .vifs(List.of("mac=00:16:3e:0a:0b:0c,bridge=xenbr0")).build());
            try (GuestConsole c = new GuestConsole(xen.console(d.id()))) {
                long end = System.currentTimeMillis() + 120_000;
                VifInfo v = null;
                while (System.currentTimeMillis() < end) {
                    List<VifInfo> vifs;
                    try {
                        vifs = netback.list(d.id());
                    } catch (IllegalArgumentException notYet) { // netback attaches on its own executor
                        vifs = List.of();
                    }
                    v = vifs.isEmpty() ? null : vifs.get(0);
                    if (v != null && v.backendState() == 4 && v.frontendState() == 4) {
                        break;
                    }
                    Thread.sleep(100);
                }
                System.out.println("[minios-net] " + v + "\n" + GuestConsole.tail(c.text()));
                assertNotNull(v);
                assertEquals(4, v.backendState(), "backend Connected: " + v + "\n" + String.join("\n", xen.dmesg()));
                assertEquals(4, v.frontendState(), "Mini-OS's netfront Connected");
                // broadcast frames from another port: copied into the rx buffers Mini-OS granted
                Port other = sw.bridge("xenbr0").attach("test", nic, (f, len) -> { });
                for (int i = 0; i < 100; i++) {
                    byte[] f = new byte[60 + i];
                    Frames.put(0xffffffffffffL, f, 0);
                    Frames.put(0x020000000001L, f, 6);
                    f[12] = (byte) 0x88;
                    f[13] = (byte) 0xb5; // local experimental EtherType: nobody answers
                    other.send(f, f.length);
                    Thread.sleep(5);
                }
                long until = System.currentTimeMillis() + 20_000;
                while (netback.list(d.id()).get(0).toGuest() < 100 && System.currentTimeMillis() < until) {
                    Thread.sleep(50);
                }
                v = netback.list(d.id()).get(0);
                System.out.println("[minios-net] after 100 broadcasts: " + v);
                assertEquals(100, v.counters().txFrames(), "the switch delivered every frame to the vif: " + v);
                assertEquals(100, v.toGuest(), "netback copied every frame into an rx buffer Mini-OS granted: " + v);
                assertEquals(0, v.refused(), v.toString());
                assertNull(v.error(), "no error on the vif");
                assertTrue(xen.dmesg().stream().noneMatch(l -> l.contains("backend vif") && l.contains("failed")),
                        String.join("\n", xen.dmesg()));
            }
        } finally {
            nic.shutdownNow();
            netback.close();
            sw.close();
        }
    }
}
