package org.xenj.hypervisor.internal.timer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.HostTimer;

class HostTimerThreadTest {

    @Test
    void cancelledFarTimersDoNotPileUp() {
        try (HostTimerThread t = new HostTimerThread(m -> { })) {
            long far = System.nanoTime() + 3_600_000_000_000L;
            for (int i = 0; i < 10_000; i++) {
                t.schedule(far + i, () -> { }).cancel();
            }
            assertTrue(t.queued() < 200, "queue holds " + t.queued() + " entries");
            assertEquals(0, t.pending());
        }
    }

    @Test
    void runsTasksInDeadlineOrderSkipsCancelledAndSurvivesFailures() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        List<Integer> order = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        try (HostTimerThread t = new HostTimerThread(log::add)) {
            long now = System.nanoTime();
            t.schedule(now + 30_000_000L, () -> {
                order.add(3);
                done.countDown();
            });
            t.schedule(now + 10_000_000L, () -> order.add(1));
            t.schedule(now + 15_000_000L, () -> {
                throw new IllegalStateException("boom");
            });
            HostTimer.Handle h = t.schedule(now + 20_000_000L, () -> order.add(99));
            t.schedule(now + 25_000_000L, () -> order.add(2));
            h.cancel();
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertEquals(List.of(1, 2, 3), order);
            assertEquals(1, log.size());
            assertTrue(log.get(0).contains("boom"));
            assertEquals(0, t.pending());
        }
    }
}
