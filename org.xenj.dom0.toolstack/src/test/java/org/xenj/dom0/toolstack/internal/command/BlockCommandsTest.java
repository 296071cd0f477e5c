package org.xenj.dom0.toolstack.internal.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.blkback.api.BlockHotplug;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;

/** The xen:block-* commands are thin: arguments to one BlockHotplug call, its answer to an xl-like table. */
class BlockCommandsTest {

    StubHypervisor hv;
    ByteArrayOutputStream bytes;
    final List<String> calls = new ArrayList<>();
    final BlockHotplug blocks = new BlockHotplug() {
        @Override
        public VirtualDisk attach(int domid, String diskSpec) {
            calls.add("attach " + domid + " " + diskSpec);
            return disk(domid);
        }

        @Override
        public void detach(int domid, String vdev, boolean force) {
            calls.add("detach " + domid + " " + vdev + " " + force);
        }

        @Override
        public List<VirtualDisk> list(int domid) {
            return List.of(disk(domid));
        }
    };

    static VirtualDisk disk(int domid) {
        return new VirtualDisk(domid, "xvdb", 51728, "format=raw, vdev=xvdb, access=rw, target=/img/b.raw", 4, 4, 3, "8", 2048,
                "/local/domain/0/backend/vbd/" + domid + "/51728");
    }

    @BeforeEach
    void setUp() {
        hv = new StubHypervisor();
        hv.create(DomainConfig.builder("g").type(DomainType.WORKLOAD).memoryMiB(64).build());
        bytes = new ByteArrayOutputStream();
    }

    private <T extends XenCommand> T wire(T c) {
        c.hypervisor = hv;
        c.out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        return c;
    }

    @Test
    void attachJoinsTheSpecAsXlDoes() throws Exception {
        BlockAttachCommand c = wire(new BlockAttachCommand());
        c.blocks = blocks;
        c.domain = "g";
        c.spec = List.of("format=raw", "vdev=xvdb", "target=/img/b.raw");
        c.execute();
        assertEquals(List.of("attach 1 format=raw,vdev=xvdb,target=/img/b.raw"), calls);
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("xvdb (51728) attached to g"));
        c.spec = List.of("format=raw,", "vdev=xvdb,", "target=/img/b.raw"); // typed unquoted with ", "
        c.execute();
        assertEquals("attach 1 format=raw,vdev=xvdb,target=/img/b.raw", calls.get(1));
    }

    @Test
    void detachByNameOrNumber() throws Exception {
        BlockDetachCommand c = wire(new BlockDetachCommand());
        c.blocks = blocks;
        c.domain = "1";
        c.vdev = "51728";
        c.force = true;
        c.execute();
        c.vdev = "xvdb";
        c.force = false;
        c.execute();
        assertEquals(List.of("detach 1 xvdb true", "detach 1 xvdb false"), calls);
        c.vdev = "99";
        assertThrows(IllegalArgumentException.class, c::execute);
    }

    @Test
    void listPrintsXlColumns() throws Exception {
        BlockListCommand c = wire(new BlockListCommand());
        c.blocks = blocks;
        c.domain = "g";
        c.noFormat = true;
        c.execute();
        String[] cells = bytes.toString(StandardCharsets.UTF_8).split("\n")[0].split("\t");
        List<String> trimmed = java.util.Arrays.stream(cells).map(String::trim).toList();
        assertEquals(List.of("51728", "0", "51728", "4", "3", "8", "/local/domain/0/backend/vbd/1/51728", "xvdb",
                "format=raw, vdev=xvdb, access=rw, target=/img/b.raw"), trimmed);
        bytes.reset();
        c.noFormat = false;
        c.execute();
        String table = bytes.toString(StandardCharsets.UTF_8);
        for (String col : List.of("Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path")) {
            assertTrue(table.split("\n")[0].contains(col), "xl's column " + col + " in\n" + table);
        }
    }
}
