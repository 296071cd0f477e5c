package org.xenj.dom0.vfb.internal;

import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * Xen's PV framebuffer protocol ({@code io/fbif.h}, read for facts): the shared page's layout, the
 * out-event ring (frontend → backend) and the checks a frontend's numbers must pass before the
 * backend reads a pixel. Everything the frontend wrote is untrusted: a layout is accepted only when
 * every row it describes lies inside the memory the page directory covers.
 */
final class FbProtocol {

    static final int PAGE = GrantMapping.PAGE_SIZE;
    // struct xenfb_page
    static final int IN_CONS = 0, IN_PROD = 4, OUT_CONS = 8, OUT_PROD = 12;
    static final int WIDTH = 16, HEIGHT = 20, LINE_LENGTH = 24, MEM_LENGTH = 28, DEPTH = 32;
    /** {@code unsigned long pd[]}: after the u8 depth, aligned to the guest's long (4 bytes on i386, 8 on x86-64). */
    static final int PD_32 = 36, PD_64 = 40;
    static final int EVENT_SIZE = 40;
    static final int OUT_RING_OFFS = 2048, OUT_RING_LEN = 2048 / EVENT_SIZE;
    static final int TYPE_UPDATE = 2, TYPE_RESIZE = 3;
    /** Most framebuffer memory accepted: a 4096×4096 screen at 32 bpp is 64 MiB; Linux offers 2 MiB by default. */
    static final long MAX_MEM = 64L << 20;

    private FbProtocol() {
    }

    /** What the frontend's numbers describe, checked: a screen inside {@code memLength} bytes. */
    record Layout(int width, int height, int stride, int depth, int offset, int memLength) {

        int bytesPerPixel() {
            return depth / 8;
        }

        int frames() {
            return (int) ((memLength + (long) PAGE - 1) / PAGE);
        }
    }

    /**
     * Checks a layout: depth 16, 24 or 32; 1..{@link Framebuffer#MAX_WIDTH} × 1..{@link Framebuffer#MAX_HEIGHT};
     * a stride that holds a row; every row inside {@code memLength} ≤ {@link #MAX_MEM}.
     *
     * @throws IllegalArgumentException with the reason
     */
    static Layout layout(long width, long height, long stride, int depth, long offset, long memLength) {
        if (depth != 16 && depth != 24 && depth != 32) {
            throw new IllegalArgumentException("depth " + depth + " (16, 24 or 32 bits per pixel are shown)");
        }
        if (width < 1 || width > Framebuffer.MAX_WIDTH || height < 1 || height > Framebuffer.MAX_HEIGHT) {
            throw new IllegalArgumentException("screen " + width + "x" + height + " outside 1x1.." + Framebuffer.MAX_WIDTH + "x"
                    + Framebuffer.MAX_HEIGHT);
        }
        if (memLength < 1 || memLength > MAX_MEM) {
            throw new IllegalArgumentException("framebuffer of " + memLength + " bytes (at most " + MAX_MEM + ")");
        }
        long row = width * (depth / 8);
        if (stride < row || stride > memLength) {
            throw new IllegalArgumentException("line length " + stride + " for rows of " + row + " bytes in " + memLength);
        }
        if (offset < 0 || offset + stride * (height - 1) + row > memLength) {
            throw new IllegalArgumentException("screen " + width + "x" + height + "x" + depth + " (line " + stride + ", offset "
                    + offset + ") does not fit in " + memLength + " bytes");
        }
        return new Layout((int) width, (int) height, (int) stride, depth, (int) offset, (int) memLength);
    }

    /** The layout the frontend put in its shared page (offset 0). */
    static Layout layoutOf(GrantMapping page) {
        return layout(page.read32(WIDTH), page.read32(HEIGHT), page.read32(LINE_LENGTH) & 0xffffffffL, page.read8(DEPTH), 0,
                page.read32(MEM_LENGTH) & 0xffffffffL);
    }

    /** Where pd[] starts and how wide its entries are, by the frontend's ABI ({@code protocol} node). */
    static int pdOffset(boolean abi64) {
        return abi64 ? PD_64 : PD_32;
    }

    /** How many directory pages a framebuffer of {@code frames} pages needs; throws if more than fit in the shared page. */
    static int directoryPages(int frames, boolean abi64) {
        int entry = abi64 ? 8 : 4;
        int perPage = PAGE / entry;
        int pages = (frames + perPage - 1) / perPage;
        int room = (PAGE - pdOffset(abi64)) / entry;
        if (pages > room) {
            throw new IllegalArgumentException(frames + " framebuffer pages need " + pages + " directory pages; the shared page holds " + room);
        }
        return pages;
    }

    /** Reads entry {@code i} of a page of frame numbers (pd[] or a directory page) at {@code base}. */
    static long frameNumber(GrantMapping page, int base, int i, boolean abi64) {
        if (abi64) {
            long lo = page.read32(base + 8 * i) & 0xffffffffL;
            long hi = page.read32(base + 8 * i + 4) & 0xffffffffL;
            return hi << 32 | lo;
        }
        return page.read32(base + 4 * i) & 0xffffffffL;
    }

    static int int32(byte[] b, int off) {
        return b[off] & 0xff | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | b[off + 3] << 24;
    }
}
