package org.xenj.hypervisor.internal.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class DmesgTest {

    @Test
    void linesAreStampedLikeXenAndTheRingIsBounded() {
        Dmesg d = new Dmesg(3, System.nanoTime() - 12_345_678_000L);
        List<String> mirrored = new ArrayList<>();
        d.setMirror(mirrored::add);
        for (int i = 1; i <= 5; i++) {
            d.log("line " + i);
        }
        List<String> lines = d.lines();
        assertEquals(3, lines.size());
        assertTrue(lines.get(0).matches("\\(XEN\\) \\[ {3}12\\.\\d{6}\\] line 3"), lines.get(0));
        assertTrue(lines.get(2).endsWith("line 5"));
        assertEquals(5, mirrored.size());
        d.clear();
        assertEquals(0, d.lines().size());
        d.log("again");
        assertEquals(1, d.lines().size());
    }
}
