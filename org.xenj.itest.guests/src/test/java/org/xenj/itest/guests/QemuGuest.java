package org.xenj.itest.guests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.ConsoleAccess;

/**
 * The same Debian guest under QEMU TCG (qemu-system-i386, no KVM), its serial console on stdio, for
 * benchmarks measured in the same run as xenj. {@link #console} lets a {@link GuestShell} drive it.
 */
final class QemuGuest implements AutoCloseable {

    static final Path QEMU = Path.of("/usr/bin/qemu-system-i386");

    private final Process process;
    private final OutputStream in;
    private final List<Consumer<byte[]>> subscribers = new CopyOnWriteArrayList<>();

    private QemuGuest(Process process) {
        this.process = process;
        this.in = process.getOutputStream();
        Thread t = new Thread(() -> {
            byte[] buf = new byte[4096];
            try (InputStream out = process.getInputStream()) {
                for (int n; (n = out.read(buf)) > 0;) {
                    byte[] copy = java.util.Arrays.copyOf(buf, n);
                    subscribers.forEach(s -> s.accept(copy));
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "qemu-console");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Starts QEMU with {@code extraArgs} (devices), optionally inside network namespace {@code netns}
     * (so that a TAP created there is the one {@code -netdev tap,ifname=} opens).
     */
    static QemuGuest start(Path guest, Path initrd, String cmdline, String netns, List<String> extraArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (netns != null) {
            cmd.addAll(List.of("ip", "netns", "exec", netns));
        }
        cmd.addAll(List.of(QEMU.toString(), "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-kernel",
                guest.resolve("bzImage").toString(), "-initrd", initrd.toString(), "-append", cmdline));
        cmd.addAll(extraArgs);
        return new QemuGuest(new ProcessBuilder(cmd).redirectErrorStream(true).start());
    }

    ConsoleAccess console() {
        return new ConsoleAccess() {
            @Override
            public byte[] history() {
                return new byte[0];
            }

            @Override
            public AutoCloseable attach(Consumer<byte[]> output) {
                subscribers.add(output);
                return () -> subscribers.remove(output);
            }

            @Override
            public void write(byte[] input) {
                try {
                    in.write(input);
                    in.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    /**
     * The guest's initramfs followed by a second cpio archive holding kernel modules {@code names}
     * (without .ko) taken from the same kernel package in {@code guest/debs}, under /extra; null if
     * the package or a module is missing. The kernel unpacks concatenated archives in order.
     */
    static Path initrdWithModules(Path guest, Path scratch, List<String> names) throws Exception {
        Path deb;
        try (var s = Files.list(guest.resolve("debs"))) {
            deb = s.filter(p -> p.getFileName().toString().startsWith("linux-image-")).findFirst().orElse(null);
        }
        if (deb == null) {
            return null;
        }
        Path x = Files.createDirectories(scratch.resolve("kernel"));
        HostTools.run("dpkg-deb", "-x", deb.toString(), x.toString());
        Path root = Files.createDirectories(scratch.resolve("extra-root/extra"));
        try (var s = Files.walk(x)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (n.endsWith(".ko") && names.contains(n.substring(0, n.length() - 3))) {
                    Files.copy(p, root.resolve(n));
                }
            }
        }
        for (String n : names) {
            if (!Files.exists(root.resolve(n + ".ko"))) {
                return null;
            }
        }
        Path extra = scratch.resolve("extra.cpio.gz");
        HostTools.run("sh", "-c", "cd " + root.getParent() + " && find extra | cpio -o -H newc 2>/dev/null | gzip > " + extra);
        Path both = scratch.resolve("initramfs+extra.cpio.gz");
        try (OutputStream o = Files.newOutputStream(both)) {
            Files.copy(guest.resolve("initramfs.cpio.gz"), o);
            Files.copy(extra, o);
        }
        return both;
    }

    @Override
    public void close() throws Exception {
        try {
            console().write("poweroff -f\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (UncheckedIOException e) {
            // already gone
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
