package org.xenj.pool.internal.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.pool.api.PoolHost;

/**
 * The record parsers take bytes anyone with the secret can write (hosts, domains, requests between
 * hosts, migration hand-overs): they must only ever answer or say why not.
 */
class RecordsFuzzTest {

    static final int INPUTS = 30_000;

    static DomainRecord sample() {
        DomainConfig c = DomainConfig.builder("web-1").type(DomainType.HVM).memoryMiB(256).maxMemoryMiB(512).vcpus(2)
                .kernel("/srv/k/bzImage").ramdisk("/srv/k/initrd").cmdline("console=ttyS0 quiet").onCrash(ShutdownAction.RESTART)
                .cpuWeight(512).cap(50).cpus("0-1").disks(List.of("file:/srv/pool/web.img,xda,w", "file:/srv/iso/d.iso,hdc:cdrom,r"))
                .vifs(List.of("bridge=xenbr0,mac=00:16:3e:00:00:01")).raw(Map.of("serial", "pty", "on_host_failure", "restart")).build();
        return new DomainRecord(c, "host-a", "running", 7);
    }

    @Test
    void recordsRoundTrip() throws RecordException {
        DomainRecord r = sample();
        DomainRecord back = Records.decodeDomain(Records.encodeDomain(r));
        assertEquals(r.toApi(), back.toApi());
        assertEquals(DomainConfigCodec.typedKeys(r.config()), DomainConfigCodec.typedKeys(back.config()));
        assertEquals(r.config().vifs(), back.config().vifs());
        PoolHost h = new PoolHost("host-a", "10.0.0.1", 8, 123456, "xenj-0.1", 42);
        assertEquals(h, Records.decodeHost(Records.encodeHost(h)));
        PoolRequest q = new PoolRequest(PoolRequest.START, "web-1", "", "host-a", "error", "no room");
        assertEquals(q, Records.decodeRequest(Records.encodeRequest(q)));
        Records.Migration m = new Records.Migration("web-1", "host-a", "host-b", 7);
        assertEquals(m, Records.decodeMigration(Records.encodeMigration(m)));
    }

    @Test
    void mutatedAndRandomRecordsGiveAnswersOrReasonsNeverInternalErrors() {
        Random rnd = new Random(16);
        byte[] domain = Records.encodeDomain(sample());
        byte[] host = Records.encodeHost(new PoolHost("host-a", "10.0.0.1", 8, 123456, "xenj-0.1", 42));
        // requests between hosts and migration hand-overs: also bytes anyone with the secret can write
        byte[] request = Records.encodeRequest(new PoolRequest(PoolRequest.MIGRATE, "web-1", "host-b", "host-a", "", ""));
        byte[] migration = Records.encodeMigration(new Records.Migration("web-1", "host-a", "host-b", 7));
        int accepted = 0;
        int rejected = 0;
        List<String> internal = new ArrayList<>();
        for (int i = 0; i < INPUTS; i++) {
            int kind = i & 3;
            byte[] input = mutate(rnd, kind == 0 ? domain : kind == 1 ? host : kind == 2 ? request : migration, i);
            try {
                switch (kind) {
                    case 0 -> Records.decodeDomain(input);
                    case 1 -> Records.decodeHost(input);
                    case 2 -> Records.decodeRequest(input);
                    default -> Records.decodeMigration(input);
                }
                accepted++;
            } catch (RecordException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
                rejected++;
            } catch (Throwable t) {
                if (internal.size() < 10) {
                    internal.add(t + " on " + new String(input, StandardCharsets.UTF_8));
                }
                internal.add("");
            }
        }
        long internalErrors = internal.stream().filter(String::isEmpty).count();
        System.out.println("RecordsFuzzTest: " + INPUTS + " inputs, " + accepted + " accepted, " + rejected + " rejected with a reason, "
                + internalErrors + " internal errors");
        assertEquals(0, internalErrors, internal.toString());
        assertTrue(accepted > 100, "the mutations must leave some records valid, or the test proves little: " + accepted);
        assertTrue(rejected > INPUTS / 2, "most mutations must be caught: " + rejected);
    }

    /** Byte flips, cuts, splices, JSON-aware value swaps, and plain noise. */
    static byte[] mutate(Random rnd, byte[] valid, int i) {
        byte[] b = valid.clone();
        switch (i % 7) {
            case 0 -> {
                for (int k = 0, n = 1 + rnd.nextInt(4); k < n; k++) {
                    b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            case 2 -> {
                int at = rnd.nextInt(b.length);
                byte[] junk = new byte[1 + rnd.nextInt(16)];
                rnd.nextBytes(junk);
                byte[] out = new byte[b.length + junk.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(junk, 0, out, at, junk.length);
                System.arraycopy(b, at, out, at + junk.length, b.length - at);
                b = out;
            }
            case 3 -> {
                String[] values = {"null", "-1", "1e400", "9223372036854775808", "\"\"", "[]", "{}", "true", "\"x/y\"", "\"\\u0000\"",
                    "0", "\"running\"", "\"hvm\"", "\"dom0\"", "99999999999", "[1,2]", "{\"a\":1}"};
                String s = new String(b, StandardCharsets.UTF_8);
                int colon = nthIndexOf(s, ':', rnd.nextInt(20));
                if (colon > 0) {
                    int end = endOfValue(s, colon + 1);
                    s = s.substring(0, colon + 1) + values[rnd.nextInt(values.length)] + s.substring(end);
                }
                b = s.getBytes(StandardCharsets.UTF_8);
            }
            case 4 -> {
                String s = new String(b, StandardCharsets.UTF_8);
                String[] keys = {"\"format\"", "\"name\"", "\"config\"", "\"generation\"", "\"pcpus\"", "\"memory\"", "\"vcpus\"", "\"type\""};
                String k = keys[rnd.nextInt(keys.length)];
                b = s.replaceFirst(k, "\"zz" + rnd.nextInt(9) + "\"").getBytes(StandardCharsets.UTF_8);
            }
            case 5 -> {
                b = new byte[rnd.nextInt(300)];
                rnd.nextBytes(b);
            }
            default -> {
                // deep nesting and oversized input: parsers have fallen over on both
                StringBuilder sb = new StringBuilder();
                int depth = rnd.nextInt(3000);
                sb.append("[".repeat(depth)).append("]".repeat(rnd.nextBoolean() ? depth : depth / 2));
                if (rnd.nextInt(50) == 0) {
                    sb.append(" ".repeat(300_000));
                }
                b = sb.toString().getBytes(StandardCharsets.UTF_8);
            }
        }
        return b;
    }

    private static int nthIndexOf(String s, char c, int n) {
        int at = -1;
        for (int k = 0; k <= n; k++) {
            at = s.indexOf(c, at + 1);
            if (at < 0) {
                return -1;
            }
        }
        return at;
    }

    private static int endOfValue(String s, int from) {
        int depth = 0;
        boolean str = false;
        for (int k = from; k < s.length(); k++) {
            char ch = s.charAt(k);
            if (str) {
                if (ch == '\\') {
                    k++;
                } else if (ch == '"') {
                    str = false;
                }
            } else if (ch == '"') {
                str = true;
            } else if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (depth == 0) {
                    return k;
                }
                depth--;
            } else if (ch == ',' && depth == 0) {
                return k;
            }
        }
        return s.length();
    }
}
