package org.xenj.hypervisor.internal.cpu.diff;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What this host can use as an oracle, probed once (never assumed from the host's name): builds
 * the native runner ({@code src/test/native/diffrunner.c}) for i386 ({@code gcc -m32 -static}) and,
 * on x86-64, for x86-64, then runs each with {@code --probe}.
 * <ul>
 * <li>{@code native32}: the i386 runner executes on the host (and not through a binfmt_misc
 * emulator registration) — every case runs natively, as on the hosts this oracle was built on;</li>
 * <li>otherwise {@code native64} for the long-mode-safe cases, and {@code qemu-user} (the i386
 * runner under {@code qemu-i386}) for the rest;</li>
 * <li>a case no oracle can run is {@code none}.</li>
 * </ul>
 */
final class HostOracles {

    private static final Path SOURCE = Paths.get("src/test/native/diffrunner.c");
    private static final Path RUNNER32 = Paths.get("target/diffrunner32");
    private static final Path RUNNER64 = Paths.get("target/diffrunner64");

    private static HostOracles instance;

    final boolean native32;
    final boolean native64;
    final List<String> qemu; // command prefix, or null
    final Path runner32;
    final Path runner64;
    /**
     * Whether the native CPU stores FOP and FDP for an x87 instruction that raised no exception
     * ({@code diffrunner --fpu-probe}). Both are model-specific: a CPU that keeps them only for
     * unmasked exceptions gives the oracle nothing to compare them with, so they are not compared
     * (and the report says so) rather than counted as the emulator's mismatches.
     */
    final boolean nativeFop;
    final boolean nativeFdp;
    /** One line per finding, printed with the report. */
    final List<String> notes = new ArrayList<>();

    private HostOracles() throws IOException, InterruptedException {
        if (!Files.exists(SOURCE)) {
            throw new IllegalStateException("native runner source missing: " + SOURCE.toAbsolutePath()
                    + " (run from the org.xenj.hypervisor module directory)");
        }
        String arch = System.getProperty("os.arch");
        boolean x86 = arch.equals("amd64") || arch.equals("x86_64") || arch.matches("i[3-6]86|x86");
        if (!x86) {
            notes.add("host is " + arch + ", not x86: no native oracle");
        }
        runner32 = build(RUNNER32, "-m32", "-static");
        boolean run32 = runner32 != null && probe(List.of(runner32.toAbsolutePath().toString()), 32);
        String emulatedBy = binfmtEmulator();
        if (run32 && emulatedBy != null) {
            notes.add("i386 programs run here through binfmt_misc (" + emulatedBy + "): not counted as native");
            run32 = false;
        }
        native32 = x86 && run32;
        boolean amd64 = arch.equals("amd64") || arch.equals("x86_64");
        runner64 = amd64 && !native32 ? build(RUNNER64, "-m64") : null;
        native64 = runner64 != null && probe(List.of(runner64.toAbsolutePath().toString()), 64);
        List<String> q = null;
        if (!native32 && runner32 != null) {
            String qemuBin = which("qemu-i386");
            if (qemuBin != null && probe(List.of(qemuBin, runner32.toAbsolutePath().toString()), 32)) {
                q = List.of(qemuBin);
            } else {
                notes.add("qemu-i386 not usable (Debian package qemu-user): cases outside long mode have no oracle");
            }
        }
        qemu = q;
        Path nativeRunner = native32 ? runner32 : native64 ? runner64 : null;
        String fpu = nativeRunner == null ? "" : run(List.of(nativeRunner.toAbsolutePath().toString(), "--fpu-probe"));
        nativeFop = !fpu.contains("fop=0");
        nativeFdp = !fpu.contains("fdp=0");
        if (nativeRunner != null && (!nativeFop || !nativeFdp)) {
            notes.add("this CPU stores " + (nativeFop ? "" : "no FOP ") + (nativeFdp ? "" : "no FDP ")
                    + "for x87 instructions without an unmasked exception: those fields are not compared on native oracles");
        }
        if (x86 && !native32) {
            notes.add("this host does not execute i386 code: long-mode-safe cases run natively in 64-bit mode,"
                    + " the others " + (qemu != null ? "under qemu-i386 (an emulator, not hardware)" : "nowhere"));
        }
    }

    static synchronized HostOracles get() throws IOException, InterruptedException {
        if (instance == null) {
            instance = new HostOracles();
        }
        return instance;
    }

    /** The oracle that answers {@code c} on this host. */
    Oracle oracleFor(DiffCase c) {
        if (native32) {
            return Oracle.NATIVE32;
        }
        if (native64 && c.longMode() != null) {
            return Oracle.NATIVE64;
        }
        return qemu != null && c.qemuUserBlind == null ? Oracle.QEMU_USER : Oracle.NONE;
    }

    /** The command that runs the runner for {@code o}. */
    List<String> command(Oracle o) {
        return switch (o) {
            case NATIVE32 -> List.of(runner32.toAbsolutePath().toString());
            case NATIVE64 -> List.of(runner64.toAbsolutePath().toString());
            case QEMU_USER -> {
                List<String> cmd = new ArrayList<>(qemu);
                cmd.add(runner32.toAbsolutePath().toString());
                yield cmd;
            }
            case NONE -> throw new IllegalArgumentException("no oracle");
        };
    }

    String describe() {
        return "oracles: native32=" + native32 + " native64=" + native64 + " qemu-user=" + (qemu != null)
                + (notes.isEmpty() ? "" : "; " + String.join("; ", notes));
    }

    private Path build(Path binary, String... flags) throws IOException, InterruptedException {
        if (Files.exists(binary) && Files.getLastModifiedTime(binary).compareTo(Files.getLastModifiedTime(SOURCE)) > 0) {
            return binary;
        }
        Files.createDirectories(binary.getParent());
        List<String> cmd = new ArrayList<>(List.of("gcc"));
        cmd.addAll(List.of(flags));
        cmd.addAll(List.of("-O2", "-fno-pie", "-no-pie", "-o", binary.toString(), SOURCE.toString()));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            notes.add("no gcc: " + e.getMessage());
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            notes.add("cannot build " + binary.getFileName() + " with gcc " + String.join(" ", flags)
                    + (flags[0].equals("-m32") ? " (needs gcc-multilib)" : "") + ": " + out.lines().findFirst().orElse(""));
            return null;
        }
        return binary;
    }

    /** What {@code cmd} prints (trimmed), or "" when it fails. */
    private static String run(List<String> cmd) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Whether results from oracle {@code o} carry FOP / FDP of non-faulting x87 instructions. */
    boolean keepsFop(Oracle o) {
        return o == Oracle.QEMU_USER || nativeFop;
    }

    boolean keepsFdp(Oracle o) {
        return o == Oracle.QEMU_USER || nativeFdp;
    }

    /** Runs {@code cmd --probe}; true when it answers as the runner of that width. */
    private static boolean probe(List<String> cmd, int bits) throws InterruptedException {
        List<String> full = new ArrayList<>(cmd);
        full.add("--probe");
        try {
            Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 && out.equals("xenj-diffrunner " + bits);
        } catch (IOException e) {
            return false;
        }
    }

    /** The interpreter of an enabled binfmt_misc entry for i386 ELF files, or null. */
    private static String binfmtEmulator() {
        Path dir = Paths.get("/proc/sys/fs/binfmt_misc");
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path e : (Iterable<Path>) entries::iterator) {
                if (e.getFileName().toString().equals("status") || e.getFileName().toString().equals("register")) {
                    continue;
                }
                String text = Files.readString(e);
                // ELF magic, 32-bit little-endian, e_type 2 (EXEC) and e_machine 3 (EM_386): an i386 handler
                if (text.startsWith("enabled") && text.contains("magic 7f454c460101") && text.contains("02000300")) {
                    return text.lines().filter(l -> l.startsWith("interpreter")).findFirst().orElse(e.toString());
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    private static String which(String name) {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin:/bin" : path).split(":")) {
            Path p = Paths.get(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
