package org.xenj.hvm.qemudm.boot;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntSupplier;

/**
 * A sampling profile of where the guest spends host time: a daemon thread reads the vCPU's EIP
 * every {@code periodMicros} and counts it against the kernel symbol that holds it (from the
 * guest kernel's System.map), one table per phase. Diagnostic only (bench/linux-boot.sh with
 * {@code -Dxenj.bench.profile=<System.map>}): the EIP read is racy by design, and with the
 * translator on it is the EIP of the last block exit, so short blocks inside long compiled runs
 * are under-counted.
 */
final class EipProfile implements AutoCloseable {

    private final TreeMap<Long, String> symbols = new TreeMap<>();
    private final IntSupplier eip;
    private final Thread sampler;
    private volatile boolean stop;
    private volatile Map<Integer, int[]> phase = new HashMap<>();
    private final List<Map.Entry<String, Map<Integer, int[]>>> phases = new ArrayList<>();

    EipProfile(Path systemMap, IntSupplier eip, long periodMicros) throws IOException {
        for (String line : Files.readAllLines(systemMap)) {
            String[] f = line.split(" ");
            if (f.length == 3 && "tTwW".indexOf(f[1].charAt(0)) >= 0) {
                symbols.put(Long.parseLong(f[0], 16), f[2]);
            }
        }
        this.eip = eip;
        phases.add(Map.entry("start", phase));
        sampler = new Thread(() -> {
            while (!stop) {
                int e = eip.getAsInt();
                phase.computeIfAbsent(e, k -> new int[1])[0]++;
                LockSupport.parkNanos(periodMicros * 1000);
            }
        }, "eip-profile");
        sampler.setDaemon(true);
        sampler.start();
    }

    /** Later samples count toward a new table named {@code name}. */
    synchronized void phase(String name) {
        Map<Integer, int[]> next = new HashMap<>();
        phases.add(Map.entry(name, next));
        phase = next;
    }

    /** The top {@code n} symbols of every phase, with their share of the phase's samples. */
    void print(PrintStream out, int n) {
        for (Map.Entry<String, Map<Integer, int[]>> p : phases) {
            Map<String, Integer> bySymbol = new HashMap<>();
            int total = 0;
            for (Map.Entry<Integer, int[]> e : new HashMap<>(p.getValue()).entrySet()) {
                long addr = e.getKey() & 0xffffffffL;
                Map.Entry<Long, String> s = symbols.floorEntry(addr);
                String name = addr < 0xc0000000L ? String.format("below 3G, %dx16M", addr >>> 24) : s == null ? "?" : s.getValue();
                bySymbol.merge(name, e.getValue()[0], Integer::sum);
                total += e.getValue()[0];
            }
            out.printf("# profile %s: %d samples%n", p.getKey(), total);
            int t = total;
            bySymbol.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(n)
                    .forEach(e -> out.printf("#   %5.1f%% %s%n", 100.0 * e.getValue() / Math.max(1, t), e.getKey()));
        }
    }

    @Override
    public void close() {
        stop = true;
        try {
            sampler.join(1000); // print() reads the tables the sampler writes: it must have stopped
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
