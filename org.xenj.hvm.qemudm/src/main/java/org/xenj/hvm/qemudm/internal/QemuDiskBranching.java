package org.xenj.hvm.qemudm.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.DiskSpecException;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.hypervisor.spi.DiskBranching;

/**
 * Branches the disks qemu-dm serves for the VM state tree: xl disk specs parsed as the IDE model
 * and blkback parse them, overlays made and chains checked through the block layer (the same code
 * that then opens them for the guest, so a chain that checks here also serves).
 */
@Component(service = DiskBranching.class)
public final class QemuDiskBranching implements DiskBranching {

    private final BlockImages images;

    @Activate
    public QemuDiskBranching(@Reference BlockImages images) {
        this.images = images;
    }

    @Override
    public WritableDisk writable(String spec) {
        DiskSpec d;
        try {
            d = DiskSpec.parse(spec);
        } catch (DiskSpecException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (d.readOnly() || d.cdrom() || d.target().isEmpty()) {
            return null;
        }
        return new WritableDisk(d.vdev(), Path.of(d.target()), d.format().xlName());
    }

    @Override
    public String retarget(String spec, Path qcow2Image) {
        DiskSpec d = DiskSpec.parse(spec);
        return new DiskSpec(qcow2Image.toString(), ImageFormat.QCOW2, d.vdev(), d.readOnly(), d.cdrom(), d.notes()).toSpecString();
    }

    @Override
    public void createOverlay(Path overlay, Path backing, String backingFormat) throws IOException {
        ImageFormat format = format(backingFormat);
        long size;
        // read-only opens share with the running domain's writer: only the header's size is read
        try (BlockDevice b = images.open(backing, format, true)) {
            size = b.size();
        }
        if (Files.exists(overlay)) {
            throw new BlockImageException(overlay + ": already exists");
        }
        try {
            images.create(overlay, ImageFormat.QCOW2, size, backing.toAbsolutePath().toString(), format);
        } catch (IOException | RuntimeException e) {
            // a full disk half way through: no partial overlay is left to be mistaken for one
            Files.deleteIfExists(overlay);
            throw e;
        }
    }

    @Override
    public void check(Path image, String format) throws IOException {
        if (!Files.isRegularFile(image)) {
            throw new BlockImageException(image + ": no such file");
        }
        try (BlockDevice b = images.open(image, format(format), true)) {
            // the open read every header of the chain; a read of the first and last sectors walks the tables
            java.nio.ByteBuffer sector = java.nio.ByteBuffer.allocate(BlockDevice.SECTOR_SIZE);
            b.read(0, sector);
            if (b.size() >= BlockDevice.SECTOR_SIZE) {
                b.read(b.size() - BlockDevice.SECTOR_SIZE, sector.clear());
            }
        }
    }

    @Override
    public Path backingFile(Path image) throws IOException {
        return images.backingFile(image);
    }

    private static ImageFormat format(String name) throws BlockImageException {
        switch (name) {
            case "raw": return ImageFormat.RAW;
            case "qcow2": return ImageFormat.QCOW2;
            default: throw new BlockImageException("image format '" + name + "' is not raw or qcow2");
        }
    }
}
