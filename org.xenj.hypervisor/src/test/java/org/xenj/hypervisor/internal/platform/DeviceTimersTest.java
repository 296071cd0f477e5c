package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.spi.DeviceTimer;

class DeviceTimersTest {

    @Test
    void timersFireOnceAtTheirDeadlineAndReportTheNextOne() {
        List<String> fired = new ArrayList<>();
        List<Long> armed = new ArrayList<>();
        DeviceTimers timers = new DeviceTimers(fired::add, armed::add);
        DeviceTimer a = timers.create(() -> fired.add("a"));
        DeviceTimer b = timers.create(() -> fired.add("b"));
        a.arm(100);
        b.arm(300);
        assertEquals(List.of(100L, 300L), armed, "arming tells the platform, so the host timer can move earlier");
        assertEquals(100, timers.service(50));
        assertEquals(List.of(), fired);
        assertEquals(300, timers.service(100));
        assertEquals(List.of("a"), fired);
        assertEquals(300, timers.service(200), "one-shot: a does not fire again");
        b.cancel();
        assertEquals(Long.MAX_VALUE, timers.service(400));
        assertEquals(List.of("a"), fired);
    }

    @Test
    void aTimerRearmedFromItsCallbackKeepsRunningAndAThrowingCallbackIsLogged() {
        List<String> log = new ArrayList<>();
        DeviceTimers timers = new DeviceTimers(log::add, d -> {
        });
        DeviceTimer[] self = new DeviceTimer[1];
        int[] ticks = new int[1];
        self[0] = timers.create(() -> {
            ticks[0]++;
            self[0].arm(1000L * (ticks[0] + 1));
        });
        self[0].arm(1000);
        DeviceTimer bad = timers.create(() -> {
            throw new IllegalStateException("device bug");
        });
        bad.arm(1500);
        for (long t = 0; t <= 5000; t += 250) {
            timers.service(t);
        }
        assertEquals(5, ticks[0]);
        assertEquals(1, log.size(), log.toString());
    }
}
