package org.xenj.dom0.vswitch.internal;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.vswitch.api.Bridge;

/**
 * A real TAP: the test creates its own network namespace, opens a TAP joined to a bridge, moves it
 * into the namespace, gives it 10.199.0.1/24 there, and lets the namespace's Linux stack talk to a
 * Java responder (10.199.0.2) on the bridge: ARP, then UDP echo through Python's socket module.
 * Skipped, with the reason printed, where /dev/net/tun, network namespaces or privileges are
 * missing. The host's own interfaces are never touched; the namespace is always deleted.
 */
class TapNetnsTest {

    private final String ns = "xenjt" + ProcessHandle.current().pid();
    private final String tap = "xjt" + (ProcessHandle.current().pid() % 100000);
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final SwitchService sw = new SwitchService(System::nanoTime, log::add, 300_000);
    private final ExecutorService responderThread = Executors.newSingleThreadExecutor();
    private boolean nsCreated;

    @AfterEach
    void cleanUp() throws Exception {
        sw.close(); // closes the TAP's file descriptor: the device goes away
        responderThread.shutdownNow();
        if (nsCreated) {
            run(List.of("ip", "netns", "del", ns), 10);
        }
    }

    static String run(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timeout: " + cmd;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }

    private String inNs(String... cmd) throws Exception {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(cmd));
        return run(c, 30);
    }

    @Test
    void aNamespaceBehindATapTalksToTheBridge() throws Exception {
        skipUnless(Files.exists(Path.of("/dev/net/tun")), "no /dev/net/tun");
        String added = run(List.of("ip", "netns", "add", ns), 10);
        skipUnless(!added.startsWith("exit"), "cannot create a network namespace: " + added.trim());
        nsCreated = true;
        Bridge br = sw.bridge("xenbr0");
        String link = br.attachTap(tap);
        skipUnless(!link.contains("unavailable"), link);
        assertEquals("tap " + tap, br.hostLink());

        EchoResponder responder = new EchoResponder(0x020000c70002L, 0x0ac70002);
        responder.port = br.attach("responder", responderThread, responder::receive);

        String moved = run(List.of("ip", "link", "set", tap, "netns", ns), 10);
        assertFalse(moved.startsWith("exit"), "move the TAP into " + ns + ": " + moved);
        assertEquals("", inNs("ip", "addr", "add", "10.199.0.1/24", "dev", tap));
        assertEquals("", inNs("ip", "link", "set", tap, "up"));

        String py = "import socket,sys\n"
                + "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)\n"
                + "ok=0\n"
                + "for i in range(20):\n"
                + "  msg=('xenj-%d' % i).encode()*20\n"
                + "  s.sendto(msg,('10.199.0.2',7))\n"
                + "  try:\n"
                + "    d,a=s.recvfrom(2048)\n"
                + "    ok+= d==msg\n"
                + "  except socket.timeout: pass\n"
                + "print('echoed', ok)\n";
        String out = inNs("python3", "-c", py);
        System.out.println("[tap-netns] " + out.trim() + "; " + br.hostLink() + "; neighbours: "
                + inNs("ip", "neigh", "show", "dev", tap).trim());
        assertTrue(out.contains("echoed 20"), "20 UDP echoes through the TAP: " + out + "\nlog: " + log);
        assertTrue(responder.arpAnswered.get() >= 1, "the namespace resolved 10.199.0.2 by ARP over the TAP");
        assertEquals(20, responder.echoesAnswered.get());
        String neigh = inNs("ip", "neigh", "show", "10.199.0.2", "dev", tap);
        assertTrue(neigh.contains("02:00:00:c7:00:02"), "the namespace learned the responder's MAC: " + neigh);
        // the TAP's port counted the namespace's frames in and our answers out
        var tapPort = br.ports().stream().filter(p -> p.name().equals("tap:" + tap)).findFirst().orElseThrow();
        assertTrue(tapPort.counters().rxFrames() >= 21 && tapPort.counters().txFrames() >= 21, tapPort.counters().toString());
    }

    @Test
    void withoutATapTheReasonIsLoggedOnceAndTheBridgeStillWorks() {
        Bridge br = sw.bridge("xenbr0");
        String state = br.attachTap("bad name!");
        assertTrue(state.contains("unavailable"), state);
        br.attachTap("bad name!");
        assertEquals(1, log.stream().filter(l -> l.contains("unavailable")).count(), log.toString());
        assertEquals(state, br.hostLink());
    }

    /** Skips the test, printing why, unless {@code condition} holds. */
    private static void skipUnless(boolean condition, String why) {
        if (!condition) {
            System.out.println("[tap-netns] skipped: " + why);
        }
        assumeTrue(condition, why);
    }
}
