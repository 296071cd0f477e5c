package org.xenj.hypervisor.internal.builder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import org.xenj.hypervisor.api.HypervisorException;

/**
 * A Linux bzImage as the x86 boot protocol describes it: a real-mode setup part of
 * {@code setup_sects + 1} sectors whose setup header starts at offset 0x1F1, followed by the
 * protected-mode kernel that is loaded at 0x100000. Only protocol 2.06+ bzImages ("HdrS",
 * LOADED_HIGH) are accepted; anything else is a clear {@link HypervisorException}.
 */
public final class BzImage {

    static final int SETUP_HEADER_OFFSET = 0x1f1;
    static final int MIN_PROTOCOL = 0x0206;
    static final int HDRS_MAGIC = 0x53726448; // "HdrS" little-endian
    static final int LOADED_HIGH = 0x01;

    private final byte[] image;
    private final int protocol;
    private final int setupSectors;
    private final int loadFlags;
    private final int code32Start;
    private final long initrdAddrMax;
    private final int cmdlineSize;
    private final int setupHeaderEnd;
    private final long preferredAddress;
    private final long initSize;

    private BzImage(byte[] image, int protocol, int setupSectors, int loadFlags, int code32Start, long initrdAddrMax,
            int cmdlineSize, int setupHeaderEnd, long preferredAddress, long initSize) {
        this.image = image;
        this.protocol = protocol;
        this.setupSectors = setupSectors;
        this.loadFlags = loadFlags;
        this.code32Start = code32Start;
        this.initrdAddrMax = initrdAddrMax;
        this.cmdlineSize = cmdlineSize;
        this.setupHeaderEnd = setupHeaderEnd;
        this.preferredAddress = preferredAddress;
        this.initSize = initSize;
    }

    /** Parses and checks {@code image}; {@code name} is used in error messages (the file). */
    /** Whether {@code image} carries Linux's x86 boot header (boot signature and "HdrS"). */
    public static boolean hasLinuxHeader(byte[] image) {
        if (image.length < 0x206) {
            return false;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(image).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return (b.getShort(0x1fe) & 0xffff) == 0xaa55 && b.getInt(0x202) == HDRS_MAGIC;
    }

    public static BzImage parse(byte[] image, String name) {
        if (image.length < 0x270) {
            throw new HypervisorException("kernel " + name + " is not a bzImage: only " + image.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if ((b.getShort(0x1fe) & 0xffff) != 0xaa55 || b.getInt(0x202) != HDRS_MAGIC) {
            throw new HypervisorException("kernel " + name + " is not a Linux bzImage (no boot signature / \"HdrS\" header) "
                    + "nor a Multiboot kernel (no 0x1badb002 header in its first 8 KiB)");
        }
        int protocol = b.getShort(0x206) & 0xffff;
        if (protocol < MIN_PROTOCOL) {
            throw new HypervisorException(String.format("kernel %s uses boot protocol %d.%02d; 2.06 or newer is needed",
                    name, protocol >> 8, protocol & 0xff));
        }
        int loadFlags = image[0x211] & 0xff;
        if ((loadFlags & LOADED_HIGH) == 0) {
            throw new HypervisorException("kernel " + name + " is a zImage (loads low); only bzImage is supported");
        }
        int setupSectors = image[0x1f1] & 0xff;
        if (setupSectors == 0) {
            setupSectors = 4;
        }
        long pmOffset = (setupSectors + 1L) * 512;
        if (pmOffset >= image.length) {
            throw new HypervisorException("kernel " + name + " is truncated: setup claims " + pmOffset + " of "
                    + image.length + " bytes");
        }
        int headerEnd = 0x202 + (image[0x201] & 0xff);
        long preferred = protocol >= 0x020a ? b.getLong(0x258) : 0x100000;
        long initSize = protocol >= 0x020a ? b.getInt(0x260) & 0xffffffffL : 0;
        return new BzImage(image, protocol, setupSectors, loadFlags, b.getInt(0x214), b.getInt(0x22c) & 0xffffffffL,
                b.getInt(0x238), Math.min(headerEnd, 0x280), preferred, initSize);
    }

    public int protocol() {
        return protocol;
    }

    public int code32Start() {
        return code32Start;
    }

    public long initrdAddrMax() {
        return initrdAddrMax;
    }

    /** Longest command line the kernel accepts, without the terminating NUL. */
    public int cmdlineSize() {
        return cmdlineSize;
    }

    public int loadFlags() {
        return loadFlags;
    }

    /** Where a relocatable kernel prefers to run (2.10+), 1 MiB otherwise. */
    public long preferredAddress() {
        return preferredAddress;
    }

    /** Bytes the kernel needs from its run address for decompression and early setup (2.10+), else 0. */
    public long initSize() {
        return initSize;
    }

    /** The protected-mode part, loaded at 0x100000. */
    public byte[] protectedModeKernel() {
        return Arrays.copyOfRange(image, (setupSectors + 1) * 512, image.length);
    }

    /** The setup header bytes from offset 0x1F1 to its end (0x202 + the byte at 0x201). */
    public byte[] setupHeader() {
        return Arrays.copyOfRange(image, SETUP_HEADER_OFFSET, setupHeaderEnd);
    }
}
