package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.vswitch.internal.SwitchService;

/**
 * The migration warm-up ({@link WarmUp}) runs qemu-dm's attach, save, read-back and detach on
 * devices no domain sees: it must complete (its own record reads back; {@link WarmUp#run} throws
 * otherwise, which {@link QemuDeviceModel#warmUp} would only swallow), twice in a row, and leave
 * the model serving no domain and the switch without a port.
 */
class WarmUpTest {

    @Test
    void runsTwiceAndLeavesNothingBehind() {
        assertDoesNotThrow(WarmUp::run);
        assertDoesNotThrow(WarmUp::run);
        SwitchService vswitch = new SwitchService();
        QemuDeviceModel model = new QemuDeviceModel(vswitch);
        model.warmUp();
        assertTrue(model.devices(-1) == null, "no domain is served after the warm-up");
        assertTrue(vswitch.bridges().stream().allMatch(b -> b.ports().isEmpty()), "no NIC joined the switch");
    }
}
