package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.dom0.PvDomainServices;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.osgi.service.component.annotations.Component;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenHost;

/**
 * Builds {@code type="pv"} domains: an ELF32 kernel with Xen's notes, laid out by
 * {@link PvStartOfDay} in the RAM the core populated (remapped gfn = mfn), with Dom0's console and
 * xenstore backends attached. Bad input (missing kernel, not ELF, not a Xen PAE kernel, too little
 * memory) is a {@link HypervisorException} naming the problem; nothing of the domain stays.
 */
@Component(service = GuestBuilder.class)
public final class PvDomainBuilder implements GuestBuilder {

    /** Refuse absurd kernel files before reading them into memory. */
    private static final long MAX_KERNEL_BYTES = 256L << 20;

    @Override
    public boolean supports(DomainType type) {
        return type == DomainType.PV;
    }

    @Override
    public Guest build(GuestContext context) {
        DomainConfig cfg = context.config();
        ElfKernel kernel = loadKernel(cfg.kernel());
        XenHost host = XenHost.of(context);
        int[] p2m = context.memory().toIdentity();
        if (p2m.length == 0) {
            throw new HypervisorException("PV domain " + cfg.name() + " has no memory");
        }
        long maxPages = Math.max(cfg.maxMemoryMiB(), cfg.memoryMiB()) << 8;
        XenDomain d = host.createDomain(context, true, cfg.vcpus(), maxPages);
        try {
            PvDomainServices.allocatePorts(d);
            PvBootState boot = PvStartOfDay.build(d, kernel, p2m, cfg.cmdline());
            PvDomainServices services = new PvDomainServices(host, d, cfg.name());
            context.log("PV kernel " + cfg.kernel() + ": entry 0x" + Integer.toHexString(boot.eip()) + ", " + p2m.length
                    + " pages, start_info at 0x" + Integer.toHexString(boot.startInfoVa()));
            return new PvGuest(host, d, boot, services, p2m);
        } catch (RuntimeException e) {
            host.destroyDomain(d.domid);
            if (e instanceof HypervisorException) {
                throw e;
            }
            throw new HypervisorException("building PV domain " + cfg.name() + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * As Xen's loader: a gzip-compressed kernel (Mini-OS and Linux images are often shipped so) is
     * unpacked first, never past {@link #MAX_KERNEL_BYTES} (a gzip bomb is refused, not unpacked).
     */
    static byte[] gunzipIfCompressed(byte[] image, String path) throws IOException {
        if (image.length < 2 || (image[0] & 0xff) != 0x1f || (image[1] & 0xff) != 0x8b) {
            return image;
        }
        try (java.util.zip.GZIPInputStream in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(image))) {
            byte[] out = in.readNBytes((int) MAX_KERNEL_BYTES + 1);
            if (out.length > MAX_KERNEL_BYTES) {
                throw new HypervisorException("kernel " + path + " unpacks to more than " + (MAX_KERNEL_BYTES >> 20) + " MiB");
            }
            return out;
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new HypervisorException("kernel " + path + " is a damaged gzip file: " + e.getMessage(), e);
        }
    }

    static ElfKernel loadKernel(String path) {
        if (path == null || path.isBlank()) {
            throw new HypervisorException("type=\"pv\" needs kernel=\"<path to a Xen PV ELF kernel>\"");
        }
        Path p = Path.of(path);
        byte[] image;
        try {
            if (Files.size(p) > MAX_KERNEL_BYTES) {
                throw new HypervisorException("kernel " + path + " is larger than " + (MAX_KERNEL_BYTES >> 20) + " MiB");
            }
            image = Files.readAllBytes(p);
            image = gunzipIfCompressed(image, path);
        } catch (IOException e) {
            throw new HypervisorException("cannot read kernel " + path + ": " + e.getMessage(), e);
        }
        ElfKernel k;
        try {
            k = new ElfKernel(image);
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("kernel " + path + ": " + e.getMessage(), e);
        }
        if (!k.hasXenNotes()) {
            throw new HypervisorException("kernel " + path + " is not a Xen PV kernel (no Xen ELF notes)");
        }
        return k;
    }
}
