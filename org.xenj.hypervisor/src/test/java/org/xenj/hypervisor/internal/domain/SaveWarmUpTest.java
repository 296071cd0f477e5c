package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/**
 * The save and snapshot page loop's warm-up: it must run through its synthetic frames as a real
 * capture reads a domain's (one in eight with data, the rest zero, told apart in place), or the
 * loop HotSpot compiles for it is not the one a snapshot takes.
 */
class SaveWarmUpTest {

    @Test
    void itWritesTheDataFramesAndCountsTheZeroOnes() throws Exception {
        assertArrayEquals(new long[] {SaveWarmUp.FRAMES / 8, SaveWarmUp.FRAMES - SaveWarmUp.FRAMES / 8}, SaveWarmUp.run(2));
    }
}
