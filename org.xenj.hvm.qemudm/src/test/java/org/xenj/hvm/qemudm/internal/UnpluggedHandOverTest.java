package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.vswitch.internal.SwitchService;
import org.xenj.hvm.qemudm.internal.ide.Piix3Ide;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.DeviceModelInstance;

/**
 * A PVHVM guest unplugged its emulated disks and NICs (Xen's platform device), blkback took the
 * disk's image and netback the vif. qemu-dm handed over after that must not plug the NIC again nor
 * open the disk's image (it would be a second writer next to blkback); the IDE controller comes back
 * for the CD-ROM alone, as on Xen; the old record is taken without complaint. Found by tests/guest-devices.sh: the hand-over failed with
 * "already open for writing (one image, one writer)" and left the domain paused.
 */
class UnpluggedHandOverTest {

    @TempDir
    Path tmp;

    @Test
    void aHandOverAfterTheGuestsUnplugLeavesTheImagesToBlkback() throws Exception {
        Path disk = tmp.resolve("xvda.raw");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        Path iso = tmp.resolve("cd.iso");
        try (RandomAccessFile f = new RandomAccessFile(iso.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        DomainConfig cfg = DomainConfig.builder("pvhvm").type(DomainType.HVM)
                .disks(List.of("format=raw, vdev=xvda, access=rw, target=" + disk, "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=" + iso))
                .vifs(List.of("mac=00:16:3e:00:00:21,bridge=xenbr0")).build();
        NicHandOverTest.Platform p = new NicHandOverTest.Platform(cfg);
        SwitchService vswitch = new SwitchService();
        BlockImagesService images = new BlockImagesService();
        try {
            QemuDeviceModel model = new QemuDeviceModel(vswitch, images);
            DeviceModelInstance first = model.attach(p);
            assertTrue(p.plugged.stream().anyMatch(d -> d instanceof Piix3Ide), "xvda is an IDE disk before the unplug");
            assertTrue(p.plugged.stream().anyMatch(d -> d instanceof Rtl8139), "the vif has its emulated twin before the unplug");

            // the guest's unplug: the platform remembers it, the functions hear of it, the image closes
            p.unpluggedClasses = 1 << 0x01 | 1 << 0x02;
            p.plugged.stream().filter(d -> d instanceof Piix3Ide || d instanceof Rtl8139).forEach(d -> d.unplugged());
            p.drain();
            assertEquals(0, vswitch.bridge("xenbr0").ports().size(), "the unplugged NIC gave up its switch port");
            try (BlockDevice blkback = images.open(disk, ImageFormat.RAW, false)) { // blkback, the one writer now
                byte[] record = first.saveState();
                first.detach();
                p.plugged.clear();
                p.log.clear();
                DeviceModelInstance second = model.attach(p, record);
                // the IDE controller is back for the CD-ROM alone (xvda's image stays blkback's: opening it would have thrown)
                Piix3Ide ide = (Piix3Ide) p.plugged.stream().filter(d -> d instanceof Piix3Ide).findFirst().orElseThrow();
                assertTrue(ide.staysOnBusWhenUnplugged(), "it serves the CD-ROM");
                assertTrue(p.log.stream().anyMatch(l -> l.contains("IDE keeps 1 CD-ROM(s) only")), p.log.toString());
                assertFalse(p.plugged.stream().anyMatch(d -> d instanceof Rtl8139), "the emulated NIC came back: " + p.plugged);
                assertTrue(p.log.stream().anyMatch(l -> l.contains("unplugged its emulated disks")), "not said why: " + p.log);
                assertFalse(p.log.stream().anyMatch(l -> l.contains("changed across the hand-over")), "complained: " + p.log);
                assertEquals(0, vswitch.find("xenbr0").map(b -> b.ports().size()).orElse(0), "a switch port came back");
                second.detach();
            }
        } finally {
            images.close();
            vswitch.close();
            p.executor.shutdownNow();
        }
    }
}
