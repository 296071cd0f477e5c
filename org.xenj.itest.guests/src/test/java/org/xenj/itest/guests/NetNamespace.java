package org.xenj.itest.guests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.xenj.dom0.vswitch.api.Bridge;

/**
 * The far end of a TAP: a network namespace this test creates and owns, joined to a bridge through
 * a TAP (the switch opens it with JNA), where Python's http.server serves a random file. Never
 * touches the host's own interfaces. Where any of it is impossible (no /dev/net/tun, not root, no
 * namespaces), {@link #unavailable} says why and the checks that need it are skipped.
 */
final class NetNamespace implements AutoCloseable {

    static final String ADDRESS = "10.99.0.254";
    /** A second address on the same TAP, in the other subnet: reached through a guest's second NIC. */
    static final String ADDRESS2 = "10.99.1.254";
    static final int PORT = 8080;

    final int blobMib;
    String unavailable;
    String ns;
    String blobMd5;
    private Path dir;
    private Process httpd;

    private NetNamespace(int blobMib) {
        this.blobMib = blobMib;
    }

    static NetNamespace open(Bridge bridge, int blobMib) throws Exception {
        NetNamespace n = new NetNamespace(blobMib);
        n.setUp(bridge);
        if (n.unavailable == null) {
            System.out.println("[guest-devices] netns " + n.ns + " at " + ADDRESS + " on " + bridge.name() + ", httpd serving "
                    + blobMib + " MiB (md5 " + n.blobMd5 + ")");
        } else {
            System.out.println("[guest-devices] no network namespace: " + n.unavailable);
        }
        return n;
    }

    private void setUp(Bridge bridge) throws Exception {
        long pid = ProcessHandle.current().pid();
        String tap = "xgt" + (pid % 100000);
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            unavailable = "no /dev/net/tun";
            return;
        }
        String candidate = "xenjguests" + pid;
        String out = HostTools.sh(10, "ip", "netns", "add", candidate);
        if (out.startsWith("exit")) {
            unavailable = "cannot create a network namespace: " + out.trim();
            return;
        }
        ns = candidate;
        String link = bridge.attachTap(tap);
        if (link.contains("unavailable")) {
            unavailable = link;
            return;
        }
        out = HostTools.sh(10, "ip", "link", "set", tap, "netns", ns) + exec(10, "ip", "addr", "add", ADDRESS + "/24", "dev", tap)
                + exec(10, "ip", "addr", "add", ADDRESS2 + "/24", "dev", tap)
                + exec(10, "ip", "link", "set", tap, "up") + exec(10, "ip", "link", "set", "lo", "up");
        if (!out.isBlank()) {
            unavailable = "configuring " + tap + " in " + ns + ": " + out.trim();
            return;
        }
        dir = Files.createTempDirectory("xenj-guests-net-");
        byte[] blob = new byte[blobMib << 20];
        new Random(42).nextBytes(blob);
        Files.write(dir.resolve("blob"), blob);
        blobMd5 = HostTools.md5(blob);
        try {
            httpd = new ProcessBuilder("ip", "netns", "exec", ns, "python3", "-m", "http.server", String.valueOf(PORT), "--bind", "0.0.0.0",
                    "--directory", dir.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("httpd.log").toFile()).start();
        } catch (IOException e) {
            unavailable = "cannot start python3's http.server in " + ns + ": " + e.getMessage();
            return;
        }
        if (httpd.waitFor(1, TimeUnit.SECONDS)) {
            unavailable = "python3's http.server in " + ns + " exited: " + httpdLog();
        }
    }

    /** A command inside the namespace; its output or "exit N: ...". */
    String exec(int seconds, String... cmd) throws IOException, InterruptedException {
        String[] full = new String[cmd.length + 4];
        full[0] = "ip";
        full[1] = "netns";
        full[2] = "exec";
        full[3] = ns;
        System.arraycopy(cmd, 0, full, 4, cmd.length);
        return HostTools.sh(seconds, full);
    }

    String httpdLog() throws IOException {
        return dir == null ? "" : Files.readString(dir.resolve("httpd.log")).trim();
    }

    String url() {
        return url(ADDRESS);
    }

    String url(String address) {
        return "http://" + address + ":" + PORT + "/blob";
    }

    @Override
    public void close() throws Exception {
        if (httpd != null) {
            httpd.destroyForcibly();
            httpd.waitFor(5, TimeUnit.SECONDS);
        }
        if (ns != null) {
            HostTools.sh(10, "ip", "netns", "del", ns);
        }
        if (dir != null) {
            Files.deleteIfExists(dir.resolve("blob"));
            Files.deleteIfExists(dir.resolve("httpd.log"));
            Files.deleteIfExists(dir);
        }
    }
}
