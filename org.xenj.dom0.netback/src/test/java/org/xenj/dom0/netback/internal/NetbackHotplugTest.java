package org.xenj.dom0.netback.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.spi.backend.BackendHotplug;

/**
 * xl network-attach into a domain created without a vif: netback asks the hypervisor's
 * {@link BackendHotplug} to serve the domain, publishes vif 0, and the Java netfront connects and
 * exchanges frames with a guest that had its vif from the start.
 */
class NetbackHotplugTest {

    final List<String> switchLog = new CopyOnWriteArrayList<>();
    final SwitchService sw = new SwitchService(System::nanoTime, switchLog::add, 300_000);
    final Netback netback = new Netback(sw);
    final FakeDomain.Store store = new FakeDomain.Store();
    final List<FakeDomain> domains = new ArrayList<>();

    @AfterEach
    void tearDown() {
        domains.forEach(FakeDomain::shutdown);
        netback.close();
        sw.close();
    }

    @Test
    void networkAttachIntoADomainWithoutVifsFindsNetbackAndTheFrontendTalks() throws Exception {
        FakeDomain empty = new FakeDomain(4, store);
        domains.add(empty);
        assertThrows(IllegalArgumentException.class, () -> netback.attach(4, "mac=00:16:3e:00:00:44"),
                "without the hypervisor's hot-plug side nothing serves a domain without vifs");

        List<String> asked = new ArrayList<>();
        netback.setBackendHotplug((domid, kind) -> {
            asked.add(domid + " " + kind);
            if (domid != 4) {
                throw new IllegalArgumentException("d" + domid + " is not running");
            }
            CompletableFuture<Void> done = new CompletableFuture<>();
            empty.executor().execute(() -> {
                netback.attach(empty);
                done.complete(null);
            });
            try {
                done.get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        VifInfo v = netback.attach(4, "mac=00:16:3e:00:00:44,bridge=xenbr0");
        assertEquals(List.of("4 vif"), asked);
        assertEquals(0, v.devid(), "the first vif of the domain");
        assertEquals("00:16:3e:00:00:44", store.read("/local/domain/4/device/vif/0/mac"));
        assertEquals("1", store.read("/local/domain/4/device/vif/0/state"));
        netback.attach(4, "mac=00:16:3e:00:00:45,bridge=xenbr0");
        assertEquals(1, asked.size(), "served from then on");
        assertEquals(2, netback.list(4).size());
        assertThrows(IllegalArgumentException.class, () -> netback.attach(8, ""));

        FakeDomain other = new FakeDomain(2, store, "mac=00:16:3e:00:00:bb");
        domains.add(other);
        other.executor().execute(() -> netback.attach(other));
        FakeDomain.awaitDevices(other);
        JavaNetfront hot = new JavaNetfront(empty, 0, (byte) 0x44);
        JavaNetfront nb = new JavaNetfront(other, 0, (byte) 0xb2);
        hot.connect();
        nb.connect();
        assertTrue(hot.awaitBackendState("4", 5000) && nb.awaitBackendState("4", 5000), empty.log + " " + other.log);
        hot.postRx(16);
        nb.postRx(16);
        byte[] f = NetbackTest.udpFrame(0x00163e0000bbL, 0x00163e000044L, 300, false);
        hot.send(f, 0, 4096);
        assertArrayEquals(f, nb.receive(1, 5000).get(0), "a frame from the hot-plugged vif");
        byte[] back = NetbackTest.udpFrame(0x00163e000044L, 0x00163e0000bbL, 500, false);
        nb.send(back, 0, 4096);
        assertArrayEquals(back, hot.receive(1, 5000).get(0), "and one to it");
        assertEquals(0, empty.internalErrors.get(), empty.errors.toString());
    }
}
