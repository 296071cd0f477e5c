package org.xenj.dom0.vswitch.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

import org.xenj.dom0.vswitch.api.Frames;

/**
 * A Linux TAP device opened through {@code /dev/net/tun} with {@code IFF_TAP | IFF_NO_PI}: every
 * read returns one Ethernet frame, every write sends one. Native calls go through JNA (libc's
 * open/ioctl/poll/read/write/close); this is the only class that touches JNA, so the switch loads
 * without it. The reader polls with a timeout so that {@link #close} stops it without signals.
 */
final class TapDevice implements AutoCloseable {

    /** The libc calls used, mapped by JNA. */
    public interface LibC extends Library {
        int open(String path, int flags);

        int ioctl(int fd, NativeLong request, byte[] ifreq);

        NativeLong read(int fd, Pointer buf, NativeLong count);

        NativeLong write(int fd, Pointer buf, NativeLong count);

        int poll(byte[] fds, NativeLong nfds, int timeoutMillis);

        int close(int fd);

        String strerror(int errno);
    }

    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    /** _IOW('T', 202, int) */
    private static final long TUNSETIFF = 0x400454caL;
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final int IFNAMSIZ = 16;
    /** sizeof(struct ifreq) on 64-bit Linux. */
    private static final int IFREQ_SIZE = 40;
    private static final short POLLIN = 0x0001;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int POLL_MILLIS = 200;

    private final LibC libc;
    private final int fd;
    private final String name;
    private final Memory readBuffer = new Memory(Frames.MAX_LENGTH);
    private final Memory writeBuffer = new Memory(Frames.MAX_LENGTH);
    private final byte[] pollfd = new byte[8];
    private volatile boolean open = true;
    private Thread reader;

    private TapDevice(LibC libc, int fd, String name) {
        this.libc = libc;
        this.fd = fd;
        this.name = name;
    }

    /** Opens (creating if needed) the TAP called {@code name}; an IOException says why it cannot be. */
    static TapDevice open(String name) throws IOException {
        LibC libc = Native.load("c", LibC.class);
        int fd = libc.open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            int errno = Native.getLastError();
            throw new IOException("open /dev/net/tun: " + libc.strerror(errno) + " (errno " + errno + ")");
        }
        byte[] ifreq = new byte[IFREQ_SIZE];
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(n, 0, ifreq, 0, Math.min(n.length, IFNAMSIZ - 1));
        short flags = (short) (IFF_TAP | IFF_NO_PI);
        ifreq[IFNAMSIZ] = (byte) flags;
        ifreq[IFNAMSIZ + 1] = (byte) (flags >> 8);
        if (libc.ioctl(fd, new NativeLong(TUNSETIFF), ifreq) < 0) {
            int errno = Native.getLastError();
            libc.close(fd);
            throw new IOException("TUNSETIFF " + name + ": " + libc.strerror(errno) + " (errno " + errno + ")");
        }
        return new TapDevice(libc, fd, name);
    }

    String name() {
        return name;
    }

    /** Starts the reader thread: each frame the host sends on the TAP goes to {@code sink} as a fresh array. */
    synchronized void startReader(FrameSink sink, Consumer<String> log) {
        reader = new Thread(() -> readLoop(sink, log), "xenj-tap-" + name + "-rx");
        reader.setDaemon(true);
        reader.start();
    }

    /** Where the reader hands frames: the TAP's bridge port. */
    interface FrameSink {
        void accept(byte[] frame, int length);
    }

    private void readLoop(FrameSink sink, Consumer<String> log) {
        pollfd[0] = (byte) fd;
        pollfd[1] = (byte) (fd >> 8);
        pollfd[2] = (byte) (fd >> 16);
        pollfd[3] = (byte) (fd >> 24);
        pollfd[4] = (byte) POLLIN;
        while (open) {
            pollfd[6] = 0;
            pollfd[7] = 0;
            int ready = libc.poll(pollfd, new NativeLong(1), POLL_MILLIS);
            if (!open) {
                break;
            }
            if (ready < 0) {
                int errno = Native.getLastError();
                if (errno == EINTR) {
                    continue;
                }
                log.accept("tap " + name + ": poll failed (errno " + errno + "); reader stops");
                return;
            }
            if (ready == 0) {
                continue;
            }
            long n = libc.read(fd, readBuffer, new NativeLong(readBuffer.size())).longValue();
            if (n < 0) {
                int errno = Native.getLastError();
                if (errno == EINTR || errno == EAGAIN) {
                    continue;
                }
                log.accept("tap " + name + ": read failed (errno " + errno + "); reader stops");
                return;
            }
            if (n == 0) {
                continue;
            }
            byte[] frame = new byte[(int) n];
            readBuffer.read(0, frame, 0, frame.length);
            sink.accept(frame, frame.length);
        }
    }

    /** Sends one frame to the host (called from the TAP port's executor only). */
    void write(byte[] frame, int len) throws IOException {
        writeBuffer.write(0, frame, 0, len);
        long n = libc.write(fd, writeBuffer, new NativeLong(len)).longValue();
        if (n != len) {
            throw new IOException("tap " + name + ": write returned " + n + " (errno " + Native.getLastError() + ")");
        }
    }

    @Override
    public void close() {
        Thread r;
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
            r = reader;
        }
        if (r != null && r != Thread.currentThread()) {
            try {
                r.join(2 * POLL_MILLIS + 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        libc.close(fd);
    }
}
