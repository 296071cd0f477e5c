package org.xenj.hypervisor.internal.testsupport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** A minimal ELF32 image: {@code code} in one loadable segment at 1 MiB, entered there (firmware_override). */
public final class FlatElf {

    private FlatElf() {
    }

    public static Path write(Path file, byte[] code) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(84 + code.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 1, 1, 1, 0}).put(new byte[8]);
        b.putShort((short) 2).putShort((short) 3).putInt(1).putInt(0x100000).putInt(52).putInt(0).putInt(0);
        b.putShort((short) 52).putShort((short) 32).putShort((short) 1).putShort((short) 40).putShort((short) 0).putShort((short) 0);
        b.putInt(1).putInt(84).putInt(0x100000).putInt(0x100000).putInt(code.length).putInt(code.length).putInt(5).putInt(16);
        b.put(code);
        Files.write(file, b.array());
        return file;
    }
}
