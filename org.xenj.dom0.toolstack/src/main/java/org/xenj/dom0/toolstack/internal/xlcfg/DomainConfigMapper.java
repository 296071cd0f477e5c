package org.xenj.dom0.toolstack.internal.xlcfg;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.DiskSpecException;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;

/**
 * Turns xl.cfg settings into a {@link DomainConfig}: checks every key the hypervisor acts on and
 * names the file, line and key of the first bad one. Unknown keys are kept in {@code raw} for
 * device models and backends.
 */
public final class DomainConfigMapper {

    /** Domain names end up in consoles, logs and xenstore paths: keep them printable and short. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}");
    private static final Pattern CPU_LIST = Pattern.compile("(all|\\^?\\d+(-\\d+)?)(,(all|\\^?\\d+(-\\d+)?))*");
    private static final Pattern WORKLOAD = Pattern.compile("spin|idle|duty:(\\d{1,3})");
    private static final int MAX_VCPUS = 128;
    /** cap is in percent of one pCPU; no domain can use more than all of its vCPUs. */
    private static final int MAX_CAP = 100 * MAX_VCPUS;

    private DomainConfigMapper() {
    }

    /** The display keys qemu-dm and the VNC consoles read: refused here when they cannot mean anything. */
    private static void displayKeys(Map<String, XlSetting> settings) {
        String[][] rules = {
            { "vga", "(?i)stdvga|std|none|cirrus|qxl", "\"stdvga\" or \"none\" (cirrus and qxl get the stdvga)" },
            { "vnc", "0|1", "0 or 1" },
            { "vncshared", "0|1", "0 or 1" },
            { "vncdisplay", "[0-9]{1,2}", "a display number 0..99 (port 5900+N)" },
        };
        for (String[] r : rules) {
            XlSetting s = settings.get(r[0]);
            if (s != null && !s.value().rawForm().replace("\"", "").replace("'", "").trim().matches(r[1])) {
                throw XlConfigException.at(s, "expected " + r[2]);
            }
        }
    }

    /**
     * @param settings  the file's settings with command-line overrides already applied
     * @param baseDir   directory relative {@code kernel}/{@code ramdisk} paths are resolved
     *                  against (the config file's), or {@code null} to keep them as written
     * @param source    name of the file, for the error about a missing {@code name}
     */
    public static DomainConfig map(Map<String, XlSetting> settings, Path baseDir, String source) {
        XlSetting nameSetting = settings.get("name");
        if (nameSetting == null) {
            throw new XlConfigException(source, 0, "name", "missing: every domain needs a name (name = \"...\")");
        }
        String name = string(nameSetting);
        if (!NAME.matcher(name).matches()) {
            throw XlConfigException.at(nameSetting, "\"" + name + "\" is not a valid domain name "
                    + "(1-64 of letters, digits, '_', '.', '-'; starting with a letter or digit)");
        }
        if (name.equals("Domain-0")) {
            throw XlConfigException.at(nameSetting, "Domain-0 is the name of the privileged domain");
        }
        DomainConfig.Builder b = DomainConfig.builder(name);
        Map<String, String> raw = new TreeMap<>();
        for (XlSetting s : settings.values()) {
            raw.put(s.key(), s.value().rawForm());
        }
        // file names the hypervisor reads, relative to the config file like kernel= and ramdisk=
        for (String fileKey : List.of("firmware_override", "bios_path_override")) {
            XlSetting f = settings.get(fileKey);
            if (f != null) {
                raw.put(fileKey, path(f, baseDir));
            }
        }
        XlSetting debugExit = settings.get("debug_exit");
        if (debugExit != null && !debugExit.value().rawForm().replace("\"", "").trim().matches("(?i)0|1|0x[0-9a-f]{1,4}|[0-9]{1,5}")) {
            throw XlConfigException.at(debugExit, "expected 0, 1 (isa-debug-exit at 0xf4, as QEMU's iobase=0xf4) or an I/O port");
        }
        displayKeys(settings);
        b.raw(raw);

        DomainType type = type(settings);
        b.type(type);

        long memory = 128;
        XlSetting s = settings.get("memory");
        if (s != null) {
            memory = positiveLong(s, "a number of MiB", 1, 1L << 22);
            b.memoryMiB(memory);
        }
        s = settings.get("maxmem");
        if (s != null) {
            long maxmem = positiveLong(s, "a number of MiB", 1, 1L << 22);
            if (maxmem < memory) {
                throw XlConfigException.at(s, "maxmem (" + maxmem + ") is below memory (" + memory + ")");
            }
            b.maxMemoryMiB(maxmem);
        }
        s = settings.get("vcpus");
        if (s != null) {
            b.vcpus((int) positiveLong(s, "a number of vCPUs", 1, MAX_VCPUS));
        }
        s = settings.get("kernel");
        if (s != null) {
            b.kernel(path(s, baseDir));
        }
        s = settings.get("ramdisk");
        if (s != null) {
            b.ramdisk(path(s, baseDir));
        }
        b.cmdline(cmdline(settings));
        s = settings.get("disk");
        if (s != null) {
            b.disks(disks(s, baseDir));
        }
        s = settings.get("vif");
        if (s != null) {
            b.vifs(items(s));
        }
        s = settings.get("on_poweroff");
        if (s != null) {
            b.onPoweroff(action(s));
        }
        s = settings.get("on_reboot");
        if (s != null) {
            b.onReboot(action(s));
        }
        s = settings.get("on_crash");
        if (s != null) {
            b.onCrash(action(s));
        }
        s = settings.get("cpu_weight");
        if (s != null) {
            b.cpuWeight((int) positiveLong(s, "a weight", 1, 65535));
        }
        s = settings.get("cap");
        if (s != null) {
            b.cap((int) positiveLong(s, "a percentage of one pCPU", 0, MAX_CAP));
        }
        s = settings.get("pool");
        if (s != null) {
            String pool = string(s);
            if (pool.isBlank()) {
                throw XlConfigException.at(s, "pool name is empty");
            }
            b.pool(pool);
        }
        s = settings.get("cpus");
        if (s != null) {
            b.cpus(cpus(s));
        }
        s = settings.get("workload");
        if (s != null) {
            b.workload(workload(s));
        }
        s = settings.get("on_host_failure");
        if (s != null) {
            // what a pool does when this domain's host fails (kept in raw; the pool reads it)
            String v = string(s);
            if (!v.equals("restart") && !v.equals("none")) {
                throw XlConfigException.at(s, "\"" + v + "\" is not an on_host_failure action (expected \"restart\": run it again on "
                        + "another pool host from its shared disks, or \"none\")");
            }
        }
        requireWhatTheTypeNeeds(type, settings, source);
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            // Every range is checked above; this is a last line of defence that still names the file.
            throw new XlConfigException(source, 0, null, e.getMessage());
        }
    }

    private static DomainType type(Map<String, XlSetting> settings) {
        XlSetting s = settings.get("type");
        if (s != null) {
            String t = string(s).toLowerCase(Locale.ROOT);
            switch (t) {
                case "hvm": return DomainType.HVM;
                case "pv": return DomainType.PV;
                case "pvh": return DomainType.PVH;
                case "workload": return DomainType.WORKLOAD;
                default:
                    throw XlConfigException.at(s, "unknown type \"" + t + "\" (expected hvm, pv, pvh or workload)");
            }
        }
        s = settings.get("builder");
        if (s != null) {
            String t = string(s).toLowerCase(Locale.ROOT);
            switch (t) {
                case "hvm": return DomainType.HVM;
                case "generic": case "linux": return DomainType.PV;
                default:
                    throw XlConfigException.at(s, "unknown builder \"" + t + "\" (expected hvm or generic)");
            }
        }
        // xl's default is PV when there is no type; a kernel-less file cannot be PV, so we choose
        // as xl users expect today: HVM unless a workload is named.
        return settings.containsKey("workload") ? DomainType.WORKLOAD : DomainType.HVM;
    }

    private static void requireWhatTheTypeNeeds(DomainType type, Map<String, XlSetting> settings, String source) {
        if ((type == DomainType.PV || type == DomainType.PVH) && !settings.containsKey("kernel")) {
            XlSetting t = settings.get("type");
            throw new XlConfigException(source, t == null ? 0 : t.line(), "kernel",
                    "missing: type \"" + type.name().toLowerCase(Locale.ROOT) + "\" needs a kernel");
        }
        if (settings.containsKey("ramdisk") && !settings.containsKey("kernel")) {
            XlSetting r = settings.get("ramdisk");
            throw new XlConfigException(source, r.line(), "ramdisk", "a ramdisk needs a kernel");
        }
    }

    /**
     * xl's rules: {@code cmdline} if given, else {@code root=...} followed by {@code extra}; we also
     * append {@code extra} to an explicit cmdline, which is what people mean when they write both.
     */
    private static String cmdline(Map<String, XlSetting> settings) {
        List<String> parts = new ArrayList<>();
        XlSetting s = settings.get("cmdline");
        if (s != null) {
            parts.add(string(s));
        }
        s = settings.get("root");
        if (s != null && !settings.containsKey("cmdline")) {
            parts.add("root=" + string(s));
        }
        s = settings.get("extra");
        if (s != null) {
            parts.add(string(s));
        }
        parts.removeIf(String::isBlank);
        return String.join(" ", parts).trim();
    }

    private static String string(XlSetting s) {
        if (s.value().isList()) {
            throw XlConfigException.at(s, "expected a single value, got a list");
        }
        return s.value().text();
    }

    private static long positiveLong(XlSetting s, String what, long min, long max) {
        String t = string(s);
        long v;
        try {
            v = t.startsWith("0x") || t.startsWith("0X") ? Long.parseLong(t.substring(2), 16) : Long.parseLong(t.trim());
        } catch (NumberFormatException e) {
            throw XlConfigException.at(s, "expected " + what + ", got \"" + t + "\"");
        }
        if (v < min || v > max) {
            throw XlConfigException.at(s, v + " is out of range (" + min + ".." + max + ")");
        }
        return v;
    }

    private static String path(XlSetting s, Path baseDir) {
        String p = string(s);
        if (p.isBlank()) {
            throw XlConfigException.at(s, "path is empty");
        }
        if (p.indexOf('\0') >= 0) {
            throw XlConfigException.at(s, "path contains a NUL character");
        }
        Path path = Path.of(p);
        if (baseDir != null && !path.isAbsolute()) {
            path = baseDir.resolve(path).normalize();
        }
        return path.toString();
    }

    private static List<String> items(XlSetting s) {
        List<String> items = s.value().asItems();
        for (String item : items) {
            if (item.isBlank()) {
                throw XlConfigException.at(s, "empty entry in the list");
            }
        }
        return items;
    }

    /**
     * Each entry parsed per xl-disk-configuration(5) and kept in its canonical named form
     * ({@link DiskSpec#toSpecString()}), relative targets resolved against the file's directory
     * like {@code kernel}; two disks may not share a guest device.
     */
    private static List<String> disks(XlSetting s, Path baseDir) {
        List<String> items = items(s);
        List<String> canonical = new ArrayList<>();
        Map<Integer, Integer> devices = new TreeMap<>();
        for (int i = 0; i < items.size(); i++) {
            String item = items.get(i);
            DiskSpec d;
            try {
                d = DiskSpec.parse(item);
            } catch (DiskSpecException e) {
                throw XlConfigException.at(s, "disk " + (i + 1) + " \"" + item + "\": " + e.getMessage());
            }
            Integer earlier = devices.put(d.deviceNumber(), i + 1);
            if (earlier != null) {
                throw XlConfigException.at(s, "disk " + (i + 1) + " \"" + item + "\": 'vdev': " + d.vdev()
                        + " is the same guest device as disk " + earlier);
            }
            String target = d.target();
            if (baseDir != null && !target.isEmpty() && !Path.of(target).isAbsolute()) {
                target = baseDir.resolve(target).normalize().toString();
            }
            canonical.add(new DiskSpec(target, d.format(), d.vdev(), d.readOnly(), d.cdrom(), d.notes()).toSpecString());
        }
        return canonical;
    }

    private static ShutdownAction action(XlSetting s) {
        try {
            return ShutdownAction.parse(string(s));
        } catch (IllegalArgumentException e) {
            throw XlConfigException.at(s, e.getMessage());
        }
    }

    private static String cpus(XlSetting s) {
        String spec = String.join(",", s.value().asItems()).replace(" ", "");
        if (!CPU_LIST.matcher(spec).matches()) {
            throw XlConfigException.at(s, "\"" + spec + "\" is not a CPU list (e.g. \"all\", \"0-3\", \"0,2,^1\")");
        }
        for (String part : spec.split(",")) {
            String[] range = part.replace("^", "").split("-");
            if (part.equals("all")) {
                continue;
            }
            if (range.length == 2 && Integer.parseInt(range[0]) > Integer.parseInt(range[1])) {
                throw XlConfigException.at(s, "range \"" + part + "\" runs backwards");
            }
        }
        return spec;
    }

    private static String workload(XlSetting s) {
        String w = string(s).toLowerCase(Locale.ROOT);
        var m = WORKLOAD.matcher(w);
        if (!m.matches() || (m.group(1) != null && Integer.parseInt(m.group(1)) > 100)) {
            throw XlConfigException.at(s, "unknown workload \"" + w + "\" (expected spin, idle or duty:<0-100>)");
        }
        return w;
    }
}
