package org.xenj.hypervisor.internal.save;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;

/** The DOMAIN_CONFIG record: every field of the {@link DomainConfig} and its raw xl.cfg keys, so the restored domain is configured as the saved one. */
final class ConfigRecord {

    private static final int VERSION = 1;

    private ConfigRecord() {
    }

    static byte[] toBytes(DomainConfig c) throws IOException {
        Payload.Out o = new Payload.Out().i32(VERSION).str(c.name()).str(c.type().name()).i64(c.memoryMiB()).i64(c.maxMemoryMiB())
                .i32(c.vcpus()).str(c.kernel()).str(c.ramdisk()).str(c.cmdline());
        list(o, c.disks());
        list(o, c.vifs());
        o.str(c.onPoweroff().name()).str(c.onReboot().name()).str(c.onCrash().name()).i32(c.cpuWeight()).i32(c.cap()).str(c.pool())
                .str(c.cpus()).str(c.workload());
        o.i32(c.raw().size());
        for (Map.Entry<String, String> e : new TreeMap<>(c.raw()).entrySet()) {
            o.str(e.getKey()).str(e.getValue());
        }
        return o.toBytes();
    }

    static DomainConfig parse(byte[] payload) throws SaveFormatException {
        Payload.In in = new Payload.In(payload, "the domain configuration record");
        int v = in.i32();
        if (v != VERSION) {
            throw new SaveFormatException("domain configuration record version " + v + " is not supported (this xenj reads " + VERSION + ")");
        }
        try {
            DomainConfig.Builder b = DomainConfig.builder(required(in.str(), "name")).type(named(DomainType.class, in.str(), "type"))
                    .memoryMiB(in.i64()).maxMemoryMiB(in.i64()).vcpus(in.i32()).kernel(in.str()).ramdisk(in.str()).cmdline(in.str())
                    .disks(list(in)).vifs(list(in)).onPoweroff(named(ShutdownAction.class, in.str(), "on_poweroff"))
                    .onReboot(named(ShutdownAction.class, in.str(), "on_reboot"))
                    .onCrash(named(ShutdownAction.class, in.str(), "on_crash")).cpuWeight(in.i32()).cap(in.i32())
                    .pool(required(in.str(), "pool")).cpus(in.str()).workload(in.str());
            int n = in.count(8);
            Map<String, String> raw = new TreeMap<>();
            for (int i = 0; i < n; i++) {
                raw.put(required(in.str(), "key"), required(in.str(), "value"));
            }
            in.end();
            return b.raw(raw).build();
        } catch (IllegalArgumentException e) {
            throw new SaveFormatException("the domain configuration record is damaged (" + e.getMessage() + ")", e);
        }
    }

    /** The constant named {@code s}; a damaged name is refused saying which field, not as "No enum constant …". */
    private static <E extends Enum<E>> E named(Class<E> type, String s, String what) throws SaveFormatException {
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(required(s, what))) {
                return e;
            }
        }
        throw new SaveFormatException("the domain configuration record is damaged (" + what + " '" + printable(s) + "')");
    }

    private static String printable(String s) {
        String p = s.codePoints().limit(32).map(c -> c >= 0x20 && c < 0x7f ? c : '?')
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return s.length() > 32 ? p + "…" : p;
    }

    private static String required(String s, String what) throws SaveFormatException {
        if (s == null) {
            throw new SaveFormatException("the domain configuration record is damaged (no " + what + ")");
        }
        return s;
    }

    private static void list(Payload.Out o, List<String> l) throws IOException {
        o.i32(l.size());
        for (String s : l) {
            o.str(s);
        }
    }

    private static List<String> list(Payload.In in) throws SaveFormatException {
        int n = in.count(4);
        List<String> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            l.add(required(in.str(), "list entry"));
        }
        return l;
    }
}
