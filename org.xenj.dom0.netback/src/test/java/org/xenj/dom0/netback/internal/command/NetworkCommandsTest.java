package org.xenj.dom0.netback.internal.command;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.netback.api.NetworkService;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.vswitch.api.PortCounters;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.hypervisor.api.HypervisorException;

/** The xen:network-* commands are thin: arguments to one NetworkService call, its answer to xl-like lines. */
class NetworkCommandsTest {

    final List<String> calls = new ArrayList<>();
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    final NetworkService network = new NetworkService() {
        @Override
        public List<VifInfo> list(int domid) {
            calls.add("list " + domid);
            return List.of(new VifInfo(domid, 0, "00:16:3e:00:00:01", "xenbr0", 4, 4, new PortCounters(5, 500, 0, 7, 700, 1), 7, 5, 1, null));
        }

        @Override
        public VifInfo attach(int domid, String spec) {
            calls.add("attach " + domid + " " + spec);
            if (spec.contains("bad")) {
                throw new IllegalArgumentException("vif spec item 'bad' is not key=value");
            }
            return new VifInfo(domid, 1, "00:16:3e:00:00:09", "xenbr1", 2, 1, new PortCounters(0, 0, 0, 0, 0, 0), 0, 0, 0, null);
        }

        @Override
        public void detach(int domid, String devidOrMac) {
            calls.add("detach " + domid + " " + devidOrMac);
        }
    };

    final Hypervisor hypervisor = (Hypervisor) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { Hypervisor.class },
            (proxy, m, args) -> {
                if (m.getName().equals("resolve") && "web".equals(args[0])) {
                    return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { Domain.class },
                            (p, dm, a) -> dm.getName().equals("id") ? 3 : dm.getName().equals("name") ? "web" : null);
                }
                throw new HypervisorException("no domain '" + args[0] + "'");
            });

    <T extends NetworkCommand> T wire(T c) {
        c.hypervisor = hypervisor;
        c.network = network;
        c.out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        return c;
    }

    @Test
    void listPrintsOneLinePerVif() throws Exception {
        NetworkListCommand c = wire(new NetworkListCommand());
        c.domain = "web";
        c.execute();
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(List.of("list 3"), calls);
        assertTrue(out.startsWith("Idx"), out);
        assertTrue(out.matches("(?s).*\\n0 +0 +00:16:3e:00:00:01 +xenbr0 +4/4 +7 +5 +2 .*"), out);
    }

    @Test
    void attachJoinsTheSpecAndDetachPassesTheDevice() throws Exception {
        NetworkAttachCommand a = wire(new NetworkAttachCommand());
        a.domain = "web";
        a.spec = List.of("mac=00:16:3e:00:00:09", "bridge=xenbr1");
        a.execute();
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("vif 1: 00:16:3e:00:00:09 on xenbr1"));
        NetworkDetachCommand d = wire(new NetworkDetachCommand());
        d.domain = "web";
        d.device = "1";
        d.execute();
        assertEquals(List.of("attach 3 mac=00:16:3e:00:00:09,bridge=xenbr1", "detach 3 1"), calls);
    }

    @Test
    void refusalsReachTheUserAsMessages() {
        NetworkAttachCommand a = wire(new NetworkAttachCommand());
        a.domain = "web";
        a.spec = List.of("bad");
        Exception e = assertThrows(HypervisorException.class, a::execute);
        assertEquals("vif spec item 'bad' is not key=value", e.getMessage());
        NetworkListCommand l = wire(new NetworkListCommand());
        l.domain = "nope";
        assertThrows(HypervisorException.class, l::execute);
    }
}
