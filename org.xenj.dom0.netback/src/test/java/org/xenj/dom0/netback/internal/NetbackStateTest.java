package org.xenj.dom0.netback.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hypervisor.internal.platform.StateFuzz;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * {@link NetbackState}: a running netback's record round-trips through bytes and through a new
 * netback (which then saves the same record); damaged records are refused with the reason; ten
 * thousand mutated records are each refused (by the parser, or by the new netback with a clear
 * message when they name rings or ports it cannot have) or taken over and saved back unchanged —
 * never an internal exception.
 */
class NetbackStateTest {

    final SwitchService sw = new SwitchService(System::nanoTime, m -> { }, 300_000);
    final FakeDomain.Store store = new FakeDomain.Store();
    final List<Netback> netbacks = new ArrayList<>();
    FakeDomain d;

    @AfterEach
    void tearDown() {
        if (d != null) {
            d.shutdown();
        }
        netbacks.forEach(Netback::close);
        sw.close();
    }

    private <T> T onExecutor(java.util.concurrent.Callable<T> task) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        d.executor().execute(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    private Netback netback() {
        Netback n = new Netback(sw);
        netbacks.add(n);
        return n;
    }

    /** vif0 connected with traffic done and two frames waiting for rx buffers; vif1 never connected. Its record. */
    private byte[] runningRecord() throws Exception {
        d = new FakeDomain(1, store, "mac=00:16:3e:00:00:aa", "mac=00:16:3e:00:00:ab,bridge=xenbr1,mtu=9000");
        Netback n = netback();
        BackendInstance i = onExecutor(() -> n.attach(d));
        FakeDomain.awaitDevices(d);
        JavaNetfront nf = new JavaNetfront(d, 0, (byte) 1);
        nf.connect();
        assertTrue(nf.awaitBackendState("4", 5000));
        // a peer on the bridge: frames to the vif, some received, two left waiting
        org.xenj.dom0.vswitch.api.Port peer = sw.bridge("xenbr0").attach("peer", Runnable::run, (f, l) -> { });
        nf.postRx(3);
        for (int k = 0; k < 5; k++) {
            peer.send(NetbackTest.udpFrame(0x00163e0000aaL, 0x00163e0000ccL, 100 + k, false), 142 + k);
        }
        assertEquals(3, nf.receive(3, 5000).size());
        nf.send(NetbackTest.udpFrame(0x00163e0000ccL, 0x00163e0000aaL, 64, false), 0, 4096);
        assertEquals(1, nf.awaitTxResponses(1, 5000).size());
        Thread.sleep(20);
        byte[] state = i.saveState();
        onExecutor(() -> {
            i.detach();
            return null;
        });
        peer.close();
        return state;
    }

    @Test
    void aRunningNetbacksRecordRoundTripsThroughBytesAndThroughANewNetback() throws Exception {
        byte[] bytes = runningRecord();
        NetbackState s = NetbackState.fromBytes(bytes);
        assertEquals(2, s.vifs().size());
        NetbackState.VifRecord v0 = s.vifs().get(0);
        assertEquals(0x00163e0000aaL, v0.mac());
        assertEquals("xenbr0", v0.bridge());
        assertEquals(2, v0.rings().backlog().size(), "two frames wait for rx buffers");
        assertEquals(3, v0.rings().rxConsumed());
        assertEquals(1, v0.rings().txConsumed());
        assertEquals(3, v0.counters().rxFrames());
        assertEquals(1, v0.counters().txFrames());
        assertTrue(v0.rings().frontendSg());
        NetbackState.VifRecord v1 = s.vifs().get(1);
        assertNull(v1.rings());
        assertEquals(9000, v1.mtu());
        assertEquals("xenbr1", v1.bridge());
        assertEquals(s, NetbackState.fromBytes(s.toBytes()));
        assertTrue(Arrays.equals(bytes, s.toBytes()));
        Netback next = netback();
        BackendInstance taken = onExecutor(() -> next.attach(d, bytes));
        assertEquals(s, NetbackState.fromBytes(taken.saveState()), "the new netback holds exactly the record");
        onExecutor(() -> {
            taken.detach();
            return null;
        });
    }

    @Test
    void damagedRecordsAreRefusedWithTheReason() throws Exception {
        byte[] good = runningRecord();
        byte[] magic = good.clone();
        magic[1] = 0;
        assertTrue(assertThrows(IOException.class, () -> NetbackState.fromBytes(magic)).getMessage().contains("not a netback"));
        byte[] version = good.clone();
        version[7] = 3;
        assertTrue(assertThrows(IOException.class, () -> NetbackState.fromBytes(version)).getMessage().contains("version 3"));
        assertTrue(assertThrows(IOException.class, () -> NetbackState.fromBytes(Arrays.copyOf(good, good.length - 1)))
                .getMessage().contains("too short"));
        assertTrue(assertThrows(IOException.class, () -> NetbackState.fromBytes(Arrays.copyOf(good, good.length + 2)))
                .getMessage().contains("trailing"));
        NetbackState.Counters c = new NetbackState.Counters(0, 0, 0, 0, 0, 0, 0, 0);
        assertThrows(IllegalArgumentException.class, () -> new NetbackState.Rings(8, 9, 7, false, 5, 4, 0, 0, false, List.of()),
                "a tx slot taken and not answered: not quiesced");
        assertThrows(IllegalArgumentException.class, () -> new NetbackState.VifRecord(0, 0x01163e000001L, "xenbr0", 1500, false,
                null, c, null), "a group address");
        assertThrows(IllegalArgumentException.class, () -> new NetbackState.VifRecord(0, 0x00163e000001L, "xen br0", 1500, false,
                null, c, null), "a bridge name with a space");
        NetbackState.Rings big = new NetbackState.Rings(8, 9, 7, false, 0, 0, 0, 0, false, List.of(new byte[5000]));
        assertThrows(IllegalArgumentException.class, () -> new NetbackState.VifRecord(0, 0x00163e000001L, "xenbr0", 9000, false,
                null, c, big), "a waiting frame over a page for a frontend without sg");
        NetbackState.VifRecord v = new NetbackState.VifRecord(0, 0x00163e000001L, "xenbr0", 1500, false, null, c, null);
        assertThrows(IllegalArgumentException.class, () -> new NetbackState(List.of(v, v)), "one vif twice");
    }

    @Test
    void mutatedRecordsAreRefusedOrTakenOverAndSavedBackUnchanged() throws Exception {
        List<byte[]> goods = new ArrayList<>();
        goods.add(runningRecord());
        // the rings the records name: the running record's (refs 8 and 9) exist in d's grant table
        NetbackState.Counters c = new NetbackState.Counters(10, 1000, 1, 2, 20, 2000, 3, 4);
        goods.add(new NetbackState(List.of(new NetbackState.VifRecord(0, 0x00163e000011L, "xenbr0", 1500, false, null, c,
                new NetbackState.Rings(8, 9, 7, false, 70000, 70000, 12, 12, true, List.of(new byte[60], new byte[1514])))))
                .toBytes());
        goods.add(new NetbackState(List.of(new NetbackState.VifRecord(0, 0x00163e000011L, "xenbr0", 1500, true, "refused: x", c,
                null), new NetbackState.VifRecord(3, 0x00163e000013L, "xenbr2", 68, false, null, c, null))).toBytes());
        goods.add(new NetbackState(List.of()).toBytes());
        int[] takenOver = {0};
        int[] refusedByNetback = {0};
        StateFuzz.run("netback", 0x7e7, 10_000, goods, NetbackState::fromBytes, (s, r) -> {
            // the frontends are where the record left them: connected vifs with nothing new queued
            for (NetbackState.VifRecord v : s.vifs()) {
                String fe = d.frontendPath() + "/device/vif/" + v.devid();
                String be = d.backendPath() + "/" + v.devid();
                synchronized (store) {
                    store.nodes.put(fe + "/state", v.rings() != null ? "4" : "1");
                    store.nodes.put(be + "/state", v.rings() != null ? "4" : "2");
                }
                NetbackState.Rings g = v.rings();
                if (g != null && d.page(g.txRef()) != null && d.page(g.rxRef()) != null) {
                    d.page(g.txRef()).write32(0, g.txConsumed());
                    d.page(g.rxRef()).write32(0, g.rxConsumed());
                }
            }
            Netback next = new Netback(sw);
            BackendInstance i;
            try {
                i = onExecutor(() -> next.attach(d, s.toBytes()));
            } catch (IllegalStateException | IllegalArgumentException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isEmpty(), "a refusal says why");
                refusedByNetback[0]++;
                next.close();
                return;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            try {
                assertEquals(s, NetbackState.fromBytes(i.saveState()), "the new netback holds exactly the record");
                onExecutor(() -> {
                    i.detach();
                    return null;
                });
            } catch (Exception e) {
                throw new AssertionError(e);
            } finally {
                next.close();
            }
            takenOver[0]++;
        });
        System.out.printf("[fuzz] netback take-over: %d taken over and saved back unchanged, %d refused by netback%n", takenOver[0],
                refusedByNetback[0]);
        assertTrue(takenOver[0] > 0 && refusedByNetback[0] > 0, "both outcomes exercised");
        assertEquals(0, d.internalErrors.get(), "exceptions escaped to the executor: " + d.errors);
    }
}
