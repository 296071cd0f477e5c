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
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.RemovableMedia;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;

/**
 * xen:cd-insert / xen:cd-eject: xl's medium spec to every service that has the drive, the
 * emulated drive first; a domain without the drive is refused; a refusal of qemu-dm leaves
 * blkback's params alone.
 */
class CdCommandsTest {

    StubHypervisor hv;
    ByteArrayOutputStream bytes;
    final List<String> calls = new ArrayList<>();

    /** A service with drive hdc of domain 1 that records what it is asked. */
    RemovableMedia service(String name, boolean refuses) {
        return new RemovableMedia() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public boolean hasDrive(int domid, String vdev) {
                return domid == 1 && vdev.equals("hdc");
            }

            @Override
            public void changeMedium(int domid, DiskSpec medium) {
                if (refuses) {
                    throw new IllegalStateException("cannot open " + medium.target());
                }
                calls.add(name + " " + domid + " " + medium.toSpecString());
            }
        };
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
    void insertAndEjectReachEveryServiceWithTheDriveQemuDmFirst() throws Exception {
        CdInsertCommand in = wire(new CdInsertCommand());
        in.media = List.of(service("blkback", false), service("qemu-dm", false));
        in.domain = "g";
        in.vdev = "hdc";
        in.target = "/iso/b.iso";
        in.execute();
        assertEquals(List.of("qemu-dm 1 format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/iso/b.iso",
                "blkback 1 format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/iso/b.iso"), calls);
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("/iso/b.iso inserted into g's hdc (qemu-dm, blkback)"));

        calls.clear();
        CdEjectCommand out = wire(new CdEjectCommand());
        out.media = in.media;
        out.domain = "1";
        out.vdev = "hdc";
        out.execute();
        assertEquals(List.of("qemu-dm 1 format=raw, vdev=hdc, access=ro, devtype=cdrom, target=",
                "blkback 1 format=raw, vdev=hdc, access=ro, devtype=cdrom, target="), calls);
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("g's hdc is empty"));
    }

    @Test
    void noSuchDriveOrARefusalChangesNothing() {
        CdInsertCommand in = wire(new CdInsertCommand());
        in.media = List.of(service("blkback", false));
        in.domain = "g";
        in.vdev = "hdd";
        in.target = "/iso/b.iso";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, in::execute);
        assertTrue(e.getMessage().contains("g has no CD-ROM drive hdd"), e.getMessage());
        in.media = null; // neither qemu-dm nor blkback installed
        in.vdev = "hdc";
        assertThrows(IllegalArgumentException.class, in::execute);
        in.media = List.of(service("blkback", false), service("qemu-dm", true));
        IllegalStateException refused = assertThrows(IllegalStateException.class, in::execute);
        assertTrue(refused.getMessage().contains("cannot open /iso/b.iso"));
        assertEquals(List.of(), calls, "blkback's params stay as they were");
        in.target = " ";
        assertThrows(IllegalArgumentException.class, in::execute, "an empty target is cd-eject's job");
    }
}
