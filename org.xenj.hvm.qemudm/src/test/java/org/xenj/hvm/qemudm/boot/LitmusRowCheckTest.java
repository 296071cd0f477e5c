package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/**
 * LitmusSmpTest's row check, without a guest: it must fail on every kind of bad row the litmus
 * program could print (rows in its exact format), so a pass in the guest means something.
 */
class LitmusRowCheckTest {

    static final String MP_OK = "TEST MP threads=2 iters=1000 sync-every=1 00=480 01=20 10!=0 11=500 other=0 forbidden=0 secs=0.1 PASS";

    @Test
    void goodRowPasses() {
        LitmusSmpTest.checkRow(MP_OK, "MP", 1000, "10");
        LitmusSmpTest.checkRow("TEST SB threads=2 iters=10 sync-every=1 00=1 01=4 10=4 11=1 other=0 forbidden=0 relaxed=seen secs=0.0 PASS",
                "SB", 10, null);
    }

    @Test
    void forbiddenOutcomeSeenFails() {
        // the program's own verdict says PASS here: the check must not trust it
        assertThrows(AssertionFailedError.class, () -> LitmusSmpTest.checkRow(
                MP_OK.replace("10!=0", "10!=1").replace("00=480", "00=479"), "MP", 1000, "10"));
    }

    @Test
    void unmarkedForbiddenOutcomeFails() {
        assertThrows(AssertionFailedError.class, () -> LitmusSmpTest.checkRow(MP_OK.replace("10!=0", "10=0"), "MP", 1000, "10"));
    }

    @Test
    void lostIterationsFail() {
        assertThrows(AssertionFailedError.class, () -> LitmusSmpTest.checkRow(MP_OK.replace("11=500", "11=499"), "MP", 1000, "10"));
    }

    @Test
    void valuesOtherThanZeroOrOneFail() {
        assertThrows(AssertionFailedError.class, () -> LitmusSmpTest.checkRow(MP_OK.replace("other=0", "other=3"), "MP", 1000, "10"));
    }

    @Test
    void otherIterationCountFails() {
        assertThrows(AssertionFailedError.class, () -> LitmusSmpTest.checkRow(MP_OK, "MP", 2000, "10"));
    }

    @Test
    void programFailVerdictFails() {
        assertThrows(AssertionFailedError.class, () -> LitmusSmpTest.checkRow(MP_OK.replace(" PASS", " FAIL"), "MP", 1000, "10"));
    }
}
